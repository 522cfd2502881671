import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../src/db/database';
import { SigningKey } from '../src/auth/signing-key';
import { Db } from '../src/db/db';
import { InstanceSecrets } from '../src/db/instance-secrets';
import { AuditService, chainHash } from '../src/modules/audit/audit-service';
import { canonicalJson } from '../src/lib/canonical-json';
import { adminLogin, createOrg, createUserAndLogin, PASSWORD, type TestOrg } from './support/identity';
import { startMailCatcher, type MailCatcher } from './support/mail-catcher';
import { startTestApp, type TestApp } from './support/test-app';
import { serverUrl } from './support/test-database';

describe('audit log: written with each change, hash-chained, verifiable, searchable (issue 5 core)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  let mail: MailCatcher;
  const events = (orgId: string) => warden.database.dataSource.query(`SELECT * FROM audit_events WHERE org_id = $1 ORDER BY seq`, [orgId]);

  before(async () => {
    mail = await startMailCatcher();
    warden = await startTestApp({ config: { smtpUrl: mail.url, platformAdminEmails: ['root@example.com', 'auditor@example.com'] } });
    org = await createOrg(warden, 'starter');
    key = { 'X-API-Key': org.key };
  });
  after(async () => {
    await warden.close();
    await mail.close();
  });

  it('an x-audit operation writes one event with actor, org, workspace, resource, request id, IP and user agent', async () => {
    const res = await warden.request
      .post(`/api/v1/orgs/${org.id}/workspaces`)
      .set(key)
      .set('X-Request-Id', 'trace-workspace-1')
      .set('User-Agent', 'audit-test/1.0')
      .send({ name: 'Audited' })
      .expect(201);
    const [event] = (await events(org.id)).filter((row: { action: string }) => row.action === 'workspace.created');
    assert.equal(event.actor_type, 'api_key');
    assert.equal(event.actor_id, org.keyId);
    assert.equal(event.workspace_id, res.body.id);
    assert.equal(event.resource_type, 'workspace');
    assert.equal(event.resource_id, res.body.id);
    assert.equal(event.outcome, 'success');
    assert.equal(event.request_id, 'trace-workspace-1');
    assert.equal(event.user_agent, 'audit-test/1.0');
    assert.match(event.ip, /127\.0\.0\.1/);
    assert.deepEqual(event.details, { operation_id: 'createWorkspace', status: 201, after: res.body });
  });

  it('events carry the change: before (as the service found it) and after, secrets redacted', async () => {
    const latest = async (action: string) => (await events(org.id)).filter((row: { action: string }) => row.action === action).at(-1);
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Before name', description: 'old' }).expect(201);
    const renamed = await warden.request.put(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}`).set(key).send({ name: 'After name' }).expect(200);
    const updated = await latest('workspace.updated');
    assert.deepEqual(updated.details.before, { name: 'Before name', description: 'old' });
    assert.deepEqual(updated.details.after, renamed.body);

    const created = await warden.request.post('/api/v1/api-keys').set(key).send({ name: 'audited key', expires_in_days: 30 }).expect(201);
    const keyEvent = await latest('api_key.created');
    assert.equal(keyEvent.details.after.key, '[REDACTED]');
    assert.equal(keyEvent.details.after.id, created.body.id);
    assert.equal(keyEvent.details.before, undefined, 'a creation has no before');
    assert.ok(!JSON.stringify(await events(org.id)).includes(created.body.key), 'the new key is nowhere in the audit log');

    const member = await createUserAndLogin(warden, org, 'member-change@example.com', 'viewer');
    await warden.request.put(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}/members/${member.id}`).set(key).send({ role: 'viewer' }).expect(200);
    assert.equal((await latest('workspace.member_set')).details.before, null, 'a new member had no role before');
    await warden.request.put(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}/members/${member.id}`).set(key).send({ role: 'admin' }).expect(200);
    const promoted = await latest('workspace.member_set');
    assert.deepEqual([promoted.details.before, promoted.details.after.role], [{ role: 'viewer' }, 'admin']);
  });

  it('before is noted for plan, role permissions, kill switch and retention changes', async () => {
    const big = await createOrg(warden, 'enterprise', 'Before and after');
    const auth = { 'X-API-Key': big.key };
    const latest = async (action: string) => (await events(big.id)).filter((row: { action: string }) => row.action === action).at(-1);

    const role = await warden.request.post('/api/v1/roles').set(auth).send({ name: 'auditors', permissions: ['user.read'] }).expect(201);
    await warden.request.put(`/api/v1/roles/${role.body.id}/permissions`).set(auth).send({ permissions: ['user.read', 'audit.read'] }).expect(200);
    const permissions = await latest('role.permissions_set');
    assert.deepEqual([permissions.details.before, permissions.details.after.permissions], [{ permissions: ['user.read'] }, ['user.read', 'audit.read']]);

    const agent = await warden.request.post('/api/v1/agents').set(auth).send({ name: 'audited agent' }).expect(201);
    assert.equal((await latest('agent.minted')).details.after.agent_secret, '[REDACTED]');
    await warden.request.post(`/api/v1/kill-switch/${agent.body.id}`).set(auth).send({ reason: 'Runaway loop' }).expect(200);
    const killed = await latest('agent.killed');
    assert.deepEqual(killed.details.before, { status: 'active', disabled_reason: null, disabled_until: null });
    assert.equal(killed.details.after.status, 'disabled');

    await warden.request.put(`/api/v1/enterprise/orgs/${big.id}/retention`).set(auth).send({ audit_log_retention_days: 730 }).expect(200);
    await warden.request.put(`/api/v1/enterprise/orgs/${big.id}/retention`).set(auth).send({ audit_log_retention_days: 1000 }).expect(200);
    const retention = await latest('audit.retention_set');
    assert.deepEqual([retention.details.before, retention.details.after], [{ audit_log_retention_days: 730 }, { org_id: big.id, audit_log_retention_days: 1000 }]);
  });

  it('no change without its event and no event without its change: a failed append rolls the change back; a refused change writes nothing', async () => {
    const before = (await events(org.id)).length;
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Audited' }).expect(409);
    assert.equal((await events(org.id)).length, before, 'a 409 writes no event');
    await warden.database.dataSource.query(`ALTER TABLE audit_events ADD CONSTRAINT refuse_environment CHECK (action <> 'environment.created')`);
    try {
      const ws = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces`).set(key).expect(200);
      await warden.request.post(`/api/v1/workspaces/${ws.body.workspaces[0].id}/environments`).set(key).send({ name: 'staging' }).expect(500);
      const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM environments`);
      assert.equal(n, 0, 'the environment rolled back with its event');
    } finally {
      await warden.database.dataSource.query(`ALTER TABLE audit_events DROP CONSTRAINT refuse_environment`);
    }
  });

  it('security events without an operation: failed logins, plan denials, refresh-token reuse, PIN lockouts', async () => {
    await createUserAndLogin(warden, org, 'audited@example.com', 'admin');
    await warden.request.post('/api/v1/auth/login').send({ email: 'audited@example.com', password: 'wrong' }).expect(401);
    await warden.request.post('/api/v1/auth/login').send({ email: 'ghost@example.com', password: PASSWORD }).expect(401);
    const failed = (await events(org.id)).find((row: { action: string }) => row.action === 'auth.login_failed');
    assert.equal(failed.outcome, 'failure');
    assert.equal(failed.actor_id, 'audited@example.com');
    const platform = await events('platform');
    assert.ok(platform.some((row: { action: string; actor_id: string }) => row.action === 'auth.login_failed' && row.actor_id === 'ghost@example.com'));

    const free = await createOrg(warden, 'free', 'Free audit');
    await warden.request.post('/api/v1/roles').set('X-API-Key', free.key).send({ name: 'x', permissions: ['user.read'] }).expect(402);
    await warden.request.post(`/api/v1/orgs/${free.id}/workspaces`).set('X-API-Key', free.key).send({ name: 'one' }).expect(201);
    await warden.request.post(`/api/v1/orgs/${free.id}/workspaces`).set('X-API-Key', free.key).send({ name: 'two' }).expect(402);
    const denials = (await events(free.id)).filter((row: { action: string }) => row.action === 'plan.limit_exceeded');
    assert.deepEqual(denials.map((row: { details: { code: string } }) => row.details.code), ['CUSTOM_ROLES_REQUIRES_UPGRADE', 'WORKSPACES_LIMIT_REACHED']);
    assert.ok((await events(free.id)).every((row: { action: string; resource_id: string | null }) => row.action !== 'workspace.created' || row.resource_id));

    const ws = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces`).set(key).expect(200);
    const agent = await warden.request.post('/api/v1/agents').set(key).send({ name: 'audited-agent' }).expect(201);
    const token = await warden.request.post(`/api/v1/workspaces/${ws.body.workspaces[0].id}/install-tokens`).set(key).send({ agent_id: agent.body.id }).expect(201);
    const boot = await warden.request.post('/api/v1/installations/bootstrap').send({ install_token: token.body.token }).expect(200);
    await warden.request.post('/api/v1/installations/recovery').set(key).send({ agent_id: agent.body.id, workspace_id: ws.body.workspaces[0].id }).expect(200);
    await warden.request.post(`/api/v1/installations/${boot.body.installation_id}/refresh`).send({ refresh_token: boot.body.refresh_token }).expect(401);
    const reuse = (await events(org.id)).find((row: { action: string }) => row.action === 'installation.refresh_token_reused');
    assert.equal(reuse.resource_id, boot.body.installation_id);
    assert.equal(reuse.outcome, 'denied');

    // Five wrong PINs lock the challenge, and that is audited.
    const pinRequest = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: 'root@example.com' }).expect(200);
    for (let i = 0; i < 5; i++) {
      await warden.request.post('/api/v1/admin/auth/verify-pin').send({ email: 'root@example.com', challenge_id: pinRequest.body.challenge_id, pin: 'x0000'.replace('x', String(i)) + '0' }).expect(401);
    }
    assert.ok((await events('platform')).some((row: { action: string; resource_id: string }) => row.action === 'admin.pin_locked' && row.resource_id === pinRequest.body.challenge_id));
  });

  it('GET /audit/verify: the chain is valid, and each tampering in SQL is found with its kind', async () => {
    const chain = await createOrg(warden, 'professional', 'Chain');
    const chainKey = { 'X-API-Key': chain.key };
    for (let i = 0; i < 6; i++) await warden.request.post(`/api/v1/orgs/${chain.id}/workspaces`).set(chainKey).send({ name: `w${i}` }).expect(201);
    const ok = await warden.request.get('/api/v1/audit/verify').set(chainKey).expect(200);
    assert.deepEqual(ok.body, { valid: true, org_id: chain.id, events_checked: 6, head_seq: 6, first_broken_seq: null, reason: null, checkpoint: null });

    const query = (sql: string) => warden.database.dataSource.query(sql, [chain.id]);
    const verdict = async () => (await warden.request.get('/api/v1/audit/verify').set(chainKey).expect(200)).body;
    const snapshot = await query(`SELECT * FROM audit_events WHERE org_id = $1 ORDER BY seq`);
    const restore = async () => {
      await query(`DELETE FROM audit_events WHERE org_id = $1`);
      for (const row of snapshot) {
        await warden.database.dataSource.query(
          `INSERT INTO audit_events SELECT * FROM json_populate_record(NULL::audit_events, $1::json)`,
          [JSON.stringify({ ...row, prev_hash: `\\x${row.prev_hash.toString('hex')}`, hash: `\\x${row.hash.toString('hex')}` })],
        );
      }
      assert.equal((await verdict()).valid, true);
    };

    await query(`UPDATE audit_events SET resource_id = 'ws_forged' WHERE org_id = $1 AND seq = 3`);
    assert.deepEqual(await verdict(), { valid: false, org_id: chain.id, events_checked: 2, head_seq: 6, first_broken_seq: 3, reason: 'edited', checkpoint: null });
    await restore();

    // Backdating by a millisecond is caught: verification reads the time at the precision it was hashed with.
    await query(`UPDATE audit_events SET occurred_at = occurred_at - interval '1 millisecond' WHERE org_id = $1 AND seq = 4`);
    assert.deepEqual(await verdict(), { valid: false, org_id: chain.id, events_checked: 3, head_seq: 6, first_broken_seq: 4, reason: 'edited', checkpoint: null });
    await restore();

    await query(`DELETE FROM audit_events WHERE org_id = $1 AND seq = 4`);
    assert.deepEqual(await verdict(), { valid: false, org_id: chain.id, events_checked: 3, head_seq: 6, first_broken_seq: 4, reason: 'deleted', checkpoint: null });
    await restore();

    await query(`DELETE FROM audit_events WHERE org_id = $1 AND seq = 6`);
    const tail = await verdict();
    assert.equal(tail.reason, 'deleted');
    assert.equal(tail.first_broken_seq, 6);
    await restore();

    // Swap events 2 and 5 (through a free seq: the pair is unique).
    await query(`UPDATE audit_events SET seq = -2 WHERE org_id = $1 AND seq = 2`);
    await query(`UPDATE audit_events SET seq = 2 WHERE org_id = $1 AND seq = 5`);
    await query(`UPDATE audit_events SET seq = 5 WHERE org_id = $1 AND seq = -2`);
    const swapped = await verdict();
    assert.equal(swapped.reason, 'reordered');
    assert.equal(swapped.first_broken_seq, 2);
    await restore();

    // Rewriting an event and its own hash still breaks the next link.
    const [third] = await query(`SELECT * FROM audit_events WHERE org_id = $1 AND seq = 3`);
    const forged = { ...third, resource_id: 'ws_forged' };
    const { prev_hash, hash: _hash, ...fields } = forged;
    const rehash = chainHash(prev_hash, { ...fields, seq: Number(fields.seq), occurred_at: fields.occurred_at.toISOString() });
    await warden.database.dataSource.query(`UPDATE audit_events SET resource_id = 'ws_forged', hash = $2 WHERE org_id = $1 AND seq = 3`, [chain.id, rehash]);
    const relinked = await verdict();
    assert.equal(relinked.valid, false);
    assert.equal(relinked.first_broken_seq, 4);
  });

  it('GET /audit-logs and /audit-events: newest first, seed filters, cursor pages; Starter+; audit.read; other orgs 404', async () => {
    const logs = await warden.request.get(`/api/v1/audit-logs?organization_id=${org.id}&limit=2`).set(key).expect(200);
    assert.equal(logs.body.events.length, 2);
    assert.ok(logs.body.events[0].seq > logs.body.events[1].seq);
    const next = await warden.request.get(`/api/v1/audit-logs?limit=2&cursor=${logs.body.next_cursor}`).set(key).expect(200);
    assert.ok(next.body.events[0].seq < logs.body.events[1].seq);
    const ws = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces`).set(key).expect(200);
    const byWorkspace = await warden.request.get(`/api/v1/audit-logs?workspace_id=${ws.body.workspaces.at(-1).id}`).set(key).expect(200);
    assert.ok(byWorkspace.body.events.every((event: { workspace_id: string }) => event.workspace_id === ws.body.workspaces.at(-1).id));

    const byRequest = await warden.request.get('/api/v1/audit-events?correlation_id=trace-workspace-1').set(key).expect(200);
    assert.deepEqual(byRequest.body.events.map((event: { action: string }) => event.action), ['workspace.created']);
    const byActor = await warden.request.get(`/api/v1/audit-events?actor=${org.keyId}&action=workspace.created`).set(key).expect(200);
    assert.ok(byActor.body.events.length >= 1);
    const resource = byRequest.body.events[0].resource_id;
    const byResource = await warden.request.get(`/api/v1/audit-events?resource=${resource}`).set(key).expect(200);
    assert.ok(byResource.body.events.every((event: { resource_id: string }) => event.resource_id === resource));
    const future = await warden.request.get(`/api/v1/audit-events?since=${new Date(Date.now() + 60_000).toISOString()}`).set(key).expect(200);
    assert.deepEqual(future.body.events, []);
    const past = await warden.request.get(`/api/v1/audit-events?until=2000-01-01T00:00:00Z`).set(key).expect(200);
    assert.deepEqual(past.body.events, []);
    await warden.request.get('/api/v1/audit-events?cursor=bm9wZQ').set(key).expect(400);

    const free = await createOrg(warden, 'free', 'No audit');
    const gated = await warden.request.get('/api/v1/audit-logs').set('X-API-Key', free.key).expect(402);
    assert.equal(gated.body.code, 'AUDIT_LOGS_REQUIRES_UPGRADE');
    await warden.request.get(`/api/v1/audit-logs?organization_id=${free.id}`).set(key).expect(404);
    await warden.request.get(`/api/v1/audit/verify?organization_id=${free.id}`).set(key).expect(404);
    const viewer = await createUserAndLogin(warden, org, 'audit-viewer@example.com', 'viewer');
    const denied = await warden.request.get('/api/v1/audit-events').set('Authorization', `Bearer ${viewer.token}`).expect(403);
    assert.match(denied.body.message, /'audit\.read'/);
  });

  it('the platform chain (events of no org) is listed, verified and exported by a platform admin session; an org credential naming it gets 403', async () => {
    await warden.request.post('/api/v1/auth/login').send({ email: 'nobody-here@example.com', password: PASSWORD }).expect(401);
    const admin = { Authorization: `Bearer ${await adminLogin(warden, mail, 'auditor@example.com')}` };
    type Event = { org_id: string; seq: number; action: string; actor_id: string | null; prev_hash: string; hash: string };

    const listed = (await warden.request.get('/api/v1/audit-logs?organization_id=platform&limit=200').set(admin).expect(200)).body.events as Event[];
    assert.ok(listed.every((event) => event.org_id === 'platform'));
    assert.ok(listed.some((event) => event.action === 'auth.login_failed' && event.actor_id === 'nobody-here@example.com'));

    const verdict = (await warden.request.get('/api/v1/audit/verify?organization_id=platform').set(admin).expect(200)).body;
    assert.deepEqual([verdict.valid, verdict.org_id, verdict.first_broken_seq, verdict.events_checked], [true, 'platform', null, verdict.head_seq]);
    assert.ok(verdict.head_seq >= listed.length);

    const exported = (await warden.request.get('/api/v1/audit/export.jsonl?org_id=platform').set(admin).expect(200)).text.trim().split('\n').map((line: string) => JSON.parse(line) as Event);
    assert.deepEqual(exported.map((event) => event.seq), Array.from({ length: verdict.head_seq }, (_, i) => i + 1));
    let prev = Buffer.alloc(32);
    for (const { hash, prev_hash: prevHash, ...fields } of exported) {
      assert.equal(prevHash, prev.toString('hex'));
      prev = Buffer.from(chainHash(prev, fields as never));
      assert.equal(prev.toString('hex'), hash);
    }
    const csv = (await warden.request.get('/api/v1/audit/export.csv?org_id=platform').set(admin).expect(200)).text.trim().split('\r\n');
    assert.equal(csv.length, exported.length + 1);
    assert.ok(csv.slice(1).every((row) => row.split(',')[1] === 'platform'));

    // Tampering with the platform chain is found like an org's.
    await warden.database.dataSource.query(`UPDATE audit_events SET actor_id = 'someone-else@example.com' WHERE org_id = 'platform' AND seq = 1`);
    try {
      const broken = (await warden.request.get('/api/v1/audit/verify?organization_id=platform').set(admin).expect(200)).body;
      assert.deepEqual([broken.valid, broken.first_broken_seq, broken.reason], [false, 1, 'edited']);
    } finally {
      await warden.database.dataSource.query(`UPDATE audit_events SET actor_id = $1 WHERE org_id = 'platform' AND seq = 1`, [exported[0]!.actor_id]);
    }

    for (const path of ['/api/v1/audit-logs?organization_id=platform', '/api/v1/audit/verify?organization_id=platform', '/api/v1/audit/export.jsonl?org_id=platform', '/api/v1/audit/export.csv?org_id=platform']) {
      const refused = await warden.request.get(path).set(key).expect(403);
      assert.equal(refused.body.code, 'PLATFORM_ADMIN_REQUIRED', path);
    }
  });
});

describe('audit exports: streamed JSON Lines that verify offline, and CSV safe from formula injection', () => {
  it('exports the chain in order; an outsider re-verifies the JSONL with SHA-256 and RFC 8785 alone', async () => {
    const warden = await startTestApp();
    try {
      const org = await createOrg(warden, 'starter');
      const key = { 'X-API-Key': org.key };
      for (let i = 0; i < 3; i++) await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: `w${i}` }).expect(201);
      await warden.request
        .post(`/api/v1/orgs/${org.id}/workspaces`)
        .set(key)
        .set('User-Agent', "=HYPERLINK(\"http://evil.example\",\"x\")")
        .send({ name: 'formula' })
        .expect(201);

      const jsonl = await warden.request.get('/api/v1/audit/export.jsonl').set(key).expect(200);
      assert.match(jsonl.headers['content-type']!, /^application\/x-ndjson/);
      const lines = jsonl.text.trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(lines.map((event) => event.seq), [1, 2, 3, 4]);
      let prev = Buffer.alloc(32);
      for (const event of lines) {
        const { hash, prev_hash: prevHash, ...fields } = event;
        assert.equal(prevHash, prev.toString('hex'));
        const recomputed = createHash('sha256').update(prev).update(canonicalJson(fields)).digest();
        assert.equal(recomputed.toString('hex'), hash, `event ${event.seq} verifies offline`);
        prev = recomputed;
      }
      const filtered = await warden.request.get(`/api/v1/audit/export.jsonl?action=workspace.created&since=2000-01-01T00:00:00Z`).set(key).expect(200);
      assert.equal(filtered.text.trim().split('\n').length, 4);

      const csv = await warden.request.get('/api/v1/audit/export.csv').set(key).expect(200);
      assert.match(csv.headers['content-type']!, /^text\/csv/);
      const rows = csv.text.trim().split('\r\n');
      assert.equal(rows[0], 'id,org_id,seq,occurred_at,actor_type,actor_id,workspace_id,action,resource_type,resource_id,outcome,request_id,ip,user_agent,details,prev_hash,hash');
      assert.equal(rows.length, 5);
      assert.ok(rows[4]!.includes(`"'=HYPERLINK(""http://evil.example"",""x"")"`), rows[4]);
      assert.ok(!rows.some((row) => row.split(',').some((cell) => cell.startsWith('='))));
      const free = await createOrg(warden, 'free', 'Free');
      await warden.request.get('/api/v1/audit/export.csv').set('X-API-Key', free.key).expect(402);
      await warden.request.get(`/api/v1/audit/export.jsonl?org_id=${free.id}`).set(key).expect(404);
    } finally {
      await warden.close();
    }
  });

  it('streams a 20,000-event export, read from the database 1,000 events at a time', async () => {
    const warden = await startTestApp();
    try {
      const org = await createOrg(warden, 'starter');
      await warden.database.dataSource.query(
        `INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, action, resource_type, outcome, details, prev_hash, hash)
         SELECT 'evt_bulk' || g, $1, g, now(), 'system', 'bulk.test', 'bulk', 'success', '{}', '\\x00', '\\x00' FROM generate_series(1, 20000) g`,
        [org.id],
      );
      const res = await warden.request.get('/api/v1/audit/export.jsonl').set('X-API-Key', org.key).expect(200);
      const lines = res.text.trim().split('\n');
      assert.equal(lines.length, 20000);
      assert.equal(JSON.parse(lines[19999]!).seq, 20000);
    } finally {
      await warden.close();
    }
  });
});

describe('retention: custom retention (Enterprise), purge with a signed checkpoint, verification from the cut', () => {
  it('PUT /enterprise/orgs/{org_id}/retention takes 366..3650 days on Enterprise only', async () => {
    const warden = await startTestApp();
    try {
      const enterprise = await createOrg(warden, 'enterprise', 'Big');
      const key = { 'X-API-Key': enterprise.key };
      const res = await warden.request.put(`/api/v1/enterprise/orgs/${enterprise.id}/retention`).set(key).send({ audit_log_retention_days: 730 }).expect(200);
      assert.deepEqual(res.body, { org_id: enterprise.id, audit_log_retention_days: 730 });
      for (const days of [365, 3651, 0]) {
        const bad = await warden.request.put(`/api/v1/enterprise/orgs/${enterprise.id}/retention`).set(key).send({ audit_log_retention_days: days }).expect(422);
        assert.equal(bad.body.details[0].field, 'audit_log_retention_days');
      }
      await warden.request.put(`/api/v1/enterprise/orgs/${enterprise.id}/retention`).set(key).send({ audit_log_retention_days: 3650 }).expect(200);
      const pro = await createOrg(warden, 'professional', 'Pro');
      const gated = await warden.request.put(`/api/v1/enterprise/orgs/${pro.id}/retention`).set('X-API-Key', pro.key).send({ audit_log_retention_days: 730 }).expect(402);
      assert.equal(gated.body.required_plan, 'enterprise');
      await warden.request.put(`/api/v1/enterprise/orgs/${pro.id}/retention`).set(key).send({ audit_log_retention_days: 730 }).expect(404);
      const [event] = await warden.database.dataSource.query(`SELECT action FROM audit_events WHERE org_id = $1 AND action = 'audit.retention_set'`, [enterprise.id]);
      assert.ok(event, 'the change is audited');
    } finally {
      await warden.close();
    }
  });

  it('the purge deletes expired events, leaves a signed checkpoint, and the rest still verifies; a forged checkpoint does not', async () => {
    const warden = await startTestApp();
    try {
      const org = await createOrg(warden, 'starter', 'Retained');
      const key = { 'X-API-Key': org.key };
      for (let i = 0; i < 5; i++) await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: `r${i}` }).expect(201);
      const rows = await warden.database.dataSource.query(`SELECT seq::int AS seq, occurred_at FROM audit_events WHERE org_id = $1 ORDER BY seq`, [org.id]);
      // The starter plan keeps 90 days: purge as of 90 days after event 3, so events 1..3 expire.
      const now = new Date(rows[2].occurred_at.getTime() + 90 * 86_400_000 + 1);
      const purged = await warden.services.audit.purgeExpired(await warden.services.orgs.auditRetentionDays(), now);
      assert.equal(purged[org.id], 3);
      const left = await warden.database.dataSource.query(`SELECT seq::int AS seq FROM audit_events WHERE org_id = $1 ORDER BY seq`, [org.id]);
      assert.deepEqual(left.map((row: { seq: number }) => row.seq), [4, 5]);

      const verdict = (await warden.request.get('/api/v1/audit/verify').set(key).expect(200)).body;
      assert.equal(verdict.valid, true);
      assert.equal(verdict.events_checked, 2);
      assert.equal(verdict.checkpoint.seq, 3);
      assert.equal(verdict.checkpoint.cut_at, now.toISOString());
      const jwks = await warden.request.get('/.well-known/jwks.json').expect(200);
      assert.equal(verdict.checkpoint.key_id, jwks.body.keys[0].kid);
      assert.deepEqual(await warden.services.audit.purgeExpired(await warden.services.orgs.auditRetentionDays(), now), {}, 'a second purge at the same time cuts nothing');

      await warden.database.dataSource.query(`UPDATE audit_checkpoints SET seq = 2 WHERE org_id = $1`, [org.id]);
      const forged = (await warden.request.get('/api/v1/audit/verify').set(key).expect(200)).body;
      assert.equal(forged.valid, false);
      assert.equal(forged.reason, 'edited');
      assert.equal(forged.first_broken_seq, 2);
    } finally {
      await warden.close();
    }
  });
});

describe('the chain stays one gap-free line under concurrent writers', () => {
  it('32 concurrent appends on one database', async () => {
    const warden = await startTestApp();
    try {
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          warden.services.audit.record({ orgId: 'org_concurrent', actor: { type: 'system', id: null }, action: 'test.append', outcome: 'success', details: { i } }),
        ),
      );
      assert.deepEqual(await warden.services.audit.verify('org_concurrent'), {
        valid: true,
        org_id: 'org_concurrent',
        events_checked: 32,
        head_seq: 32,
        first_broken_seq: null,
        reason: null,
        checkpoint: null,
      });
    } finally {
      await warden.close();
    }
  });

  it('32 concurrent writers across two DataSources ("two instances") on a real PostgreSQL', { skip: serverUrl ? false : 'needs DATABASE_URL or TEST_DATABASE_URL' }, async () => {
    const warden = await startTestApp();
    const schema = warden.database.schema!;
    const second = await openDatabase({ kind: 'server', url: serverUrl!, poolSize: 8, schema }, { migrate: false });
    try {
      const instances = [warden.services.audit, new AuditService(new Db(second.dataSource), new SigningKey(new InstanceSecrets(second.dataSource)))];
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          instances[i % 2]!.record({ orgId: 'org_two_instances', actor: { type: 'system', id: null }, action: 'test.append', outcome: 'success', details: { i } }),
        ),
      );
      const verdict = await warden.services.audit.verify('org_two_instances');
      assert.deepEqual(verdict, { valid: true, org_id: 'org_two_instances', events_checked: 32, head_seq: 32, first_broken_seq: null, reason: null, checkpoint: null });
      const seqs = await warden.database.dataSource.query(`SELECT seq::int AS seq FROM audit_events WHERE org_id = 'org_two_instances' ORDER BY seq`);
      assert.deepEqual(seqs.map((row: { seq: number }) => row.seq), Array.from({ length: 32 }, (_, i) => i + 1));
    } finally {
      await second.close();
      await warden.close();
    }
  });
});
