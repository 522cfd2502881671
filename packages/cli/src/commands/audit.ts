import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { unwrap, WardenError } from '@warden/sdk';
import { type Command, Option } from 'commander';
import { emit, type JsonOption } from '../output.js';
import { session } from '../session.js';

interface ExportOptions {
  format: 'jsonl' | 'csv';
  output?: string;
  org?: string;
  workspace?: string;
  action?: string;
  actor?: string;
  since?: string;
  until?: string;
}

export function auditCommands(program: Command): void {
  const audit = program.command('audit').description('The tamper-evident audit log');

  audit
    .command('verify')
    .description('Verify the audit chain; exits 1 when it is broken')
    .option('--org <ID>', "the org to verify (platform admins), or 'platform'")
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption & { org?: string }) => {
      const query = options.org ? { organization_id: options.org } : {};
      const verdict = await unwrap(session().client.GET('/api/v1/audit/verify', { params: { query } }));
      emit(options, verdict, () =>
        verdict.valid
          ? `Audit chain of ${verdict.org_id} is intact: ${verdict.events_checked} events checked (head seq ${verdict.head_seq}).`
          : `Audit chain of ${verdict.org_id} is BROKEN at seq ${verdict.first_broken_seq}: ${verdict.reason} ` +
            `(${verdict.events_checked} events checked, head seq ${verdict.head_seq}).`,
      );
      if (!verdict.valid) process.exitCode = 1;
    });

  audit
    .command('export')
    .description('Export the audit log, oldest first, streamed')
    .addOption(
      new Option('--format <format>', 'jsonl (each line re-verifies offline) or csv').choices(['jsonl', 'csv']).makeOptionMandatory(),
    )
    .option('--output <file>', 'write to this file instead of stdout')
    .option('--org <ID>', "the org to export (platform admins), or 'platform'")
    .option('--workspace <ID>', 'only events of this workspace')
    .option('--action <action>', 'only events of this action')
    .option('--actor <ID>', 'only events by this actor')
    .option('--since <date-time>', 'events at or after this time')
    .option('--until <date-time>', 'events before this time')
    .action(async (options: ExportOptions) => {
      const query = {
        org_id: options.org,
        workspace_id: options.workspace,
        action: options.action,
        actor: options.actor,
        since: options.since,
        until: options.until,
      };
      const { client } = session();
      const path = options.format === 'csv' ? '/api/v1/audit/export.csv' : '/api/v1/audit/export.jsonl';
      const { data, error, response } = await client.GET(path, { params: { query }, parseAs: 'stream' });
      if (!response.ok || !data) throw WardenError.from(response, error);
      const destination = options.output ? createWriteStream(options.output, { mode: 0o600 }) : process.stdout;
      await pipeline(Readable.fromWeb(data as ReadableStream), destination, { end: options.output !== undefined });
      if (options.output) emit({}, null, () => `Exported the audit log to ${options.output}`);
    });
}
