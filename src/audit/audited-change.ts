import { AsyncLocalStorage } from 'node:async_hooks';
import type { NewAuditEvent } from './audit-event';

/**
 * What an audited operation's service saw before it changed something, for the `before` of the
 * operation's audit event. The binding opens a slot around each x-audit operation; a service
 * that overwrites state notes the old values (read under the row lock it updates with).
 */
const slot = new AsyncLocalStorage<{ before?: Record<string, unknown> | null; actor?: NotedActor }>();

/** Who changed something, where the binding's principal cannot say: see noteActor. */
export interface NotedActor {
  orgId: string;
  workspaceId: string | null;
  actor: NewAuditEvent['actor'];
}

export async function collectingBefore<T>(
  work: () => Promise<T>,
): Promise<{ result: T; before: Record<string, unknown> | null | undefined; actor: NotedActor | undefined }> {
  const noted: { before?: Record<string, unknown> | null; actor?: NotedActor } = {};
  const result = await slot.run(noted, work);
  return { result, before: noted.before, actor: noted.actor };
}

/** The changed fields as they were; null when the change creates what did not exist. First note wins. */
export function noteBefore(state: Record<string, unknown> | null): void {
  const noted = slot.getStore();
  if (noted && !('before' in noted)) noted.before = state;
}

/**
 * The org, workspace and actor of an audited operation whose caller is anonymous to the binding
 * because the service checks its credential itself (an install token, a refresh token): without
 * this its event would land in no org's chain, by nobody.
 */
export function noteActor(actor: NotedActor): void {
  const noted = slot.getStore();
  if (noted) noted.actor = actor;
}

const SECRET_FIELDS = new Set([
  'key',
  'secret',
  'token',
  'password',
  'pin',
  'api_key',
  'agent_secret',
  'session_token',
  'install_token',
  'runtime_token',
  'refresh_token',
  'refreshed_token',
  'hec_token',
  'routing_key',
  'signature',
]);
/** Warden's own secrets (prefix_ + base62) and JWTs, wherever they appear. */
const SECRET_VALUE = /^((sk_live|sk_test|sas|skt|srt|srf|adm|mgl|vfy|sgk)_[A-Za-z0-9]{20,}|eyJ[\w-]+\.[\w-]+\.[\w-]*)$/;
const MAX_DEPTH = 4;
const MAX_ITEMS = 50;
const MAX_TEXT = 1000;

/**
 * A copy safe and small enough to keep in the audit log: secret fields and secret-looking strings
 * become `[REDACTED]`; a longer string, a longer list or a deeper value is cut, and says so.
 */
export function redacted(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    if (SECRET_VALUE.test(value)) return '[REDACTED]';
    return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…[${value.length - MAX_TEXT} more characters]` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_ITEMS).map((item) => redacted(item, depth + 1));
    return value.length > MAX_ITEMS ? [...kept, `[…${value.length - MAX_ITEMS} more items]`] : kept;
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([field, item]) => [
      field,
      SECRET_FIELDS.has(field) ? '[REDACTED]' : redacted(item, depth + 1),
    ]),
  );
}
