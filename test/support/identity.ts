import assert from 'node:assert/strict';
import { ORG_PERMISSIONS } from '../../src/auth/permissions';
import type { PlanName } from '../../src/config/config';
import type { MailCatcher } from './mail-catcher';
import type { TestApp } from './test-app';

export const PASSWORD = 'correct horse battery staple';

export interface TestOrg {
  id: string;
  /** An owner API key of the org. */
  key: string;
  keyId: string;
}

/**
 * An org with an owner API key, made through the same service calls first start uses; every
 * other object in the tests is made through the API.
 */
export async function createOrg(warden: TestApp, plan: PlanName = 'enterprise', name = 'Test org'): Promise<TestOrg> {
  return warden.services.db.transaction(async () => {
    const org = await warden.services.orgs.create(name, plan);
    const apiKey = await warden.services.apiKeys.insert({
      orgId: org.id,
      createdBy: null,
      name: 'owner',
      description: '',
      mode: 'live',
      permissions: [...ORG_PERMISSIONS],
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    return { id: org.id, key: apiKey.key, keyId: apiKey.id };
  });
}

/** Creates a user through the API with an org key and logs them in; returns their id and JWT. */
export async function createUserAndLogin(
  warden: TestApp,
  org: TestOrg,
  email: string,
  role: 'owner' | 'admin' | 'member' | 'viewer' = 'member',
): Promise<{ id: string; token: string }> {
  const created = await warden.request
    .post('/api/v1/users')
    .set('X-API-Key', org.key)
    .send({ email, password: PASSWORD, role })
    .expect(201);
  const login = await warden.request.post('/api/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
  return { id: created.body.id, token: login.body.token };
}

/** The whole seed-000 admin login: request a PIN, read it from the delivered mail, verify it. */
export async function adminLogin(warden: TestApp, mail: MailCatcher, email: string): Promise<string> {
  const { challengeId, pin } = await requestPin(warden, mail, email);
  const res = await warden.request.post('/api/v1/admin/auth/verify-pin').send({ email, challenge_id: challengeId, pin }).expect(200);
  return res.body.session_token;
}

export async function requestPin(warden: TestApp, mail: MailCatcher, email: string): Promise<{ challengeId: string; pin: string }> {
  const res = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email }).expect(200);
  const message = await mail.next(email);
  const pin = /PIN is (\d{6})/.exec(message.raw)?.[1];
  assert.ok(pin, 'the mail carries a 6-digit PIN');
  return { challengeId: res.body.challenge_id, pin };
}

/**
 * Every row of every table, as text: a test asserts no secret it handled appears in it, the
 * way a leaked database dump would be read.
 */
export async function dumpDatabase(warden: TestApp): Promise<string> {
  const tables: Array<{ table_name: string }> = await warden.database.dataSource.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  );
  let dump = '';
  for (const { table_name } of tables) {
    const rows: Array<{ row: string }> = await warden.database.dataSource.query(`SELECT t::text AS row FROM "${table_name}" t`);
    dump += `${rows.map((r) => `${table_name}: ${r.row}`).join('\n')}\n`;
  }
  return dump;
}

/** Nothing secret a test handled (passwords, PINs, tokens, keys) is readable in a database dump or the logs. */
export async function assertNoSecretAtRest(warden: TestApp, secrets: string[]): Promise<void> {
  const dump = await dumpDatabase(warden);
  const logs = JSON.stringify(warden.logs);
  assert.ok(secrets.length > 0);
  for (const secret of secrets) {
    assert.ok(!dump.includes(secret), `a secret (${secret.slice(0, 6)}…) is stored in plaintext`);
    assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the logs`);
  }
}

export async function rowCounts(warden: TestApp, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`);
    counts[table] = n;
  }
  return counts;
}

export interface RecordedEvent {
  org_id: string;
  seq: number;
  action: string;
  actor_type: string;
  actor_id: string | null;
  resource_type: string;
  resource_id: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

/** The audit events a request left, found by its X-Request-Id. */
export async function auditEventsOf(warden: TestApp, res: { headers: Record<string, string | undefined> }): Promise<RecordedEvent[]> {
  const requestId = res.headers['x-request-id'];
  assert.ok(requestId, 'the answer names its request');
  const rows = await warden.auditRows(
    `SELECT org_id, seq::int AS seq, action, actor_type, actor_id, resource_type, resource_id, outcome, details
     FROM audit_events WHERE request_id = $1 ORDER BY org_id, seq`,
    [requestId],
  );
  return rows;
}

/** The one audit event a request left, with none of the secrets given appearing anywhere in it. */
export async function theAuditEventOf(
  warden: TestApp,
  res: { headers: Record<string, string | undefined> },
  secrets: string[] = [],
): Promise<RecordedEvent> {
  const events = await auditEventsOf(warden, res);
  assert.equal(events.length, 1, `exactly one audit event, got ${events.map((event) => event.action).join(', ') || 'none'}`);
  const text = JSON.stringify(events[0]);
  for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the audit event`);
  return events[0]!;
}

/** Who did what, where, to what, with which outcome: the fields a test compares. */
export const summary = (event: RecordedEvent) => ({
  org: event.org_id,
  action: event.action,
  actor: [event.actor_type, event.actor_id],
  resource: [event.resource_type, event.resource_id],
  outcome: event.outcome,
});
