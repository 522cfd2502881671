import { Readable } from 'node:stream';
import type { components } from '../../../generated/api';
import { canonicalJson } from '../../lib/canonical-json';

type AuditEvent = components['schemas']['AuditEvent'];

export const CSV_COLUMNS = [
  'id',
  'org_id',
  'seq',
  'occurred_at',
  'actor_type',
  'actor_id',
  'workspace_id',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'request_id',
  'ip',
  'user_agent',
  'details',
  'prev_hash',
  'hash',
] as const satisfies ReadonlyArray<keyof AuditEvent>;

/** One event per line, as RFC 8785 canonical JSON. */
export function jsonLines(events: AsyncIterable<AuditEvent>): Readable {
  return Readable.from(
    (async function* () {
      for await (const event of events) yield `${canonicalJson(event)}\n`;
    })(),
  );
}

/**
 * RFC 4180 rows. Cells a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first)
 * get a leading `'` (OWASP's CSV injection advice); cells with a comma, quote or line break are quoted.
 */
export function csvRows(events: AsyncIterable<AuditEvent>): Readable {
  return Readable.from(
    (async function* () {
      yield `${CSV_COLUMNS.join(',')}\r\n`;
      for await (const event of events) {
        yield `${CSV_COLUMNS.map((column) => csvCell(event[column])).join(',')}\r\n`;
      }
    })(),
  );
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
