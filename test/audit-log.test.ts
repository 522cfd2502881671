import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chainHash } from '../src/audit/audit-chain';
import { adminLogin, createOrg, createUserAndLogin, PASSWORD, type TestOrg } from './support/identity';
import { type MailCatcher, startMailCatcher } from './support/mail-catcher';
import { startTestApp, type TestApp } from './support/test-app';

describe('audit log: written with each change, hash-chained, verifiable, searchable (issue 5 core)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  let mail: MailCatcher;
  const events = (orgId: string) => warden.auditRows(`SELECT * FROM audit_events WHERE org_id = $1 ORDER BY seq`, [orgId]);

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
    const ws = await warden.request
      .post(`/api/v1/orgs/${org.id}/workspaces`)
      .set(key)
      .send({ name: 'Before name', description: 'old' })
      .expect(201);
    const renamed = await warden.request
      .put(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}`)
      .set(key)
      .send({ name: 'After name' })
      .expect(200);
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
    await warden.request
      .put(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}/members/${member.id}`)
      .set(key)
      .send({ role: 'viewer' })
      .expect(200);
    assert.equal((await latest('workspace.member_set')).details.before, null, 'a new member had no role before');
    await warden.request
      .put(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}/members/${member.id}`)
      .set(key)
      .send({ role: 'admin' })
      .expect(200);
    const promoted = await latest('workspace.member_set');
    assert.deepEqual([promoted.details.before, promoted.details.after.role], [{ role: 'viewer' }, 'admin']);
  });

  it('before is noted for plan, role permissions, kill switch and retention changes', async () => {
    const big = await createOrg(warden, 'enterprise', 'Before and after');
    const auth = { 'X-API-Key': big.key };
    const latest = async (action: string) => (await events(big.id)).filter((row: { action: string }) => row.action === action).at(-1);

    const role = await warden.request
      .post('/api/v1/roles')
      .set(auth)
      .send({ name: 'auditors', permissions: ['user.read'] })
      .expect(201);
    await warden.request
      .put(`/api/v1/roles/${role.body.id}/permissions`)
      .set(auth)
      .send({ permissions: ['user.read', 'audit.read'] })
      .expect(200);
    const permissions = await latest('role.permissions_set');
    assert.deepEqual(
      [permissions.details.before, permissions.details.after.permissions],
      [{ permissions: ['user.read'] }, ['user.read', 'audit.read']],
    );

    const agent = await warden.request.post('/api/v1/agents').set(auth).send({ name: 'audited agent' }).expect(201);
    assert.equal((await latest('agent.minted')).details.after.agent_secret, '[REDACTED]');
    await warden.request.post(`/api/v1/kill-switch/${agent.body.id}`).set(auth).send({ reason: 'Runaway loop' }).expect(200);
    const killed = await latest('agent.killed');
    assert.deepEqual(killed.details.before, { status: 'active', disabled_reason: null, disabled_until: null });
    assert.equal(killed.details.after.status, 'disabled');

    await warden.request.put(`/api/v1/enterprise/orgs/${big.id}/retention`).set(auth).send({ audit_log_retention_days: 730 }).expect(200);
    await warden.request.put(`/api/v1/enterprise/orgs/${big.id}/retention`).set(auth).send({ audit_log_retention_days: 1000 }).expect(200);
    const retention = await latest('audit.retention_set');
    assert.deepEqual(
      [retention.details.before, retention.details.after],
      [{ audit_log_retention_days: 730 }, { org_id: big.id, audit_log_retention_days: 1000 }],
    );
  });

  it('no change without its event and no event without its change: a failed append rolls the change back; a refused change writes nothing', async () => {
    const before = (await events(org.id)).length;
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Audited' }).expect(409);
    assert.equal((await events(org.id)).length, before, 'a 409 writes no event');
    // The event is written in the operation's own transaction (to audit_pending, chained after the commit).
    await warden.database.dataSource.query(
      `ALTER TABLE audit_pending ADD CONSTRAINT refuse_environment CHECK (canonical_before_seq NOT LIKE '{"action":"environment.created",%')`,
    );
    try {
      const ws = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces`).set(key).expect(200);
      await warden.request
        .post(`/api/v1/workspaces/${ws.body.workspaces[0].id}/environments`)
        .set(key)
        .send({ name: 'staging' })
        .expect(500);
      const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM environments`);
      assert.equal(n, 0, 'the environment rolled back with its event');
    } finally {
      await warden.database.dataSource.query(`ALTER TABLE audit_pending DROP CONSTRAINT refuse_environment`);
    }
  });

  it('an event committed with its change but not chained (a crash, an outage) waits, and the sweep chains it in order', async () => {
    const org = await createOrg(warden, 'professional', 'Chained later');
    const key = { 'X-API-Key': org.key };
    await warden.database.dataSource.query(
      `ALTER TABLE audit_events ADD CONSTRAINT refuse_workspace CHECK (action <> 'workspace.created') NOT VALID`,
    );
    let created: { body: { id: string } };
    try {
      created = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Chained later' }).expect(201);
      // The operation answered before its event was chained; chaining it now fails, as it did after the commit.
      await assert.rejects(warden.services.audit.settled(org.id), /refuse_workspace/);
    } finally {
      await warden.database.dataSource.query(`ALTER TABLE audit_events DROP CONSTRAINT refuse_workspace`);
    }
    const waiting = await warden.database.dataSource.query(
      `SELECT (canonical_before_seq || '0' || canonical_after_seq)::json->>'action' AS action FROM audit_pending WHERE org_id = $1`,
      [org.id],
    );
    assert.deepEqual(waiting, [{ action: 'workspace.created' }], 'the change committed, and its event waits to be chained');
    assert.ok(warden.logs.some((line) => line.msg?.toString().startsWith('audit events committed but not chained yet')));

    assert.equal(await warden.services.audit.sweepPending(), 1);
    const [last] = (await events(org.id)).slice(-1);
    assert.equal(last.action, 'workspace.created');
    assert.equal(last.resource_id, created.body.id);
    assert.deepEqual(await warden.database.dataSource.query(`SELECT 1 FROM audit_pending`), []);
    const verified = await warden.request.get('/api/v1/audit/verify').set(key).expect(200);
    assert.equal(verified.body.valid, true);
  });

  it('security events without an operation: failed logins, plan denials, refresh-token reuse, PIN lockouts', async () => {
    await createUserAndLogin(warden, org, 'audited@example.com', 'admin');
    await warden.request.post('/api/v1/auth/login').send({ email: 'audited@example.com', password: 'wrong' }).expect(401);
    await warden.request.post('/api/v1/auth/login').send({ email: 'ghost@example.com', password: PASSWORD }).expect(401);
    const failed = (await events(org.id)).find((row: { action: string }) => row.action === 'auth.login_failed');
    assert.equal(failed.outcome, 'failure');
    assert.equal(failed.actor_id, 'audited@example.com');
    const platform = await events('platform');
    assert.ok(
      platform.some(
        (row: { action: string; actor_id: string }) => row.action === 'auth.login_failed' && row.actor_id === 'ghost@example.com',
      ),
    );

    const free = await createOrg(warden, 'free', 'Free audit');
    await warden.request
      .post('/api/v1/roles')
      .set('X-API-Key', free.key)
      .send({ name: 'x', permissions: ['user.read'] })
      .expect(402);
    await warden.request.post(`/api/v1/orgs/${free.id}/workspaces`).set('X-API-Key', free.key).send({ name: 'one' }).expect(201);
    await warden.request.post(`/api/v1/orgs/${free.id}/workspaces`).set('X-API-Key', free.key).send({ name: 'two' }).expect(402);
    const denials = (await events(free.id)).filter((row: { action: string }) => row.action === 'plan.limit_exceeded');
    assert.deepEqual(
      denials.map((row: { details: { code: string } }) => row.details.code),
      ['CUSTOM_ROLES_REQUIRES_UPGRADE', 'WORKSPACES_LIMIT_REACHED'],
    );
    assert.ok(
      (await events(free.id)).every(
        (row: { action: string; resource_id: string | null }) => row.action !== 'workspace.created' || row.resource_id,
      ),
    );

    const ws = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces`).set(key).expect(200);
    const agent = await warden.request.post('/api/v1/agents').set(key).send({ name: 'audited-agent' }).expect(201);
    const token = await warden.request
      .post(`/api/v1/workspaces/${ws.body.workspaces[0].id}/install-tokens`)
      .set(key)
      .send({ agent_id: agent.body.id })
      .expect(201);
    const boot = await warden.request.post('/api/v1/installations/bootstrap').send({ install_token: token.body.token }).expect(200);
    await warden.request
      .post('/api/v1/installations/recovery')
      .set(key)
      .send({ agent_id: agent.body.id, workspace_id: ws.body.workspaces[0].id })
      .expect(200);
    await warden.request
      .post(`/api/v1/installations/${boot.body.installation_id}/refresh`)
      .send({ refresh_token: boot.body.refresh_token })
      .expect(401);
    const reuse = (await events(org.id)).find((row: { action: string }) => row.action === 'installation.refresh_token_reused');
    assert.equal(reuse.resource_id, boot.body.installation_id);
    assert.equal(reuse.outcome, 'denied');

    // Five wrong PINs lock the challenge, and that is audited.
    const pinRequest = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: 'root@example.com' }).expect(200);
    for (let i = 0; i < 5; i++) {
      await warden.request
        .post('/api/v1/admin/auth/verify-pin')
        .send({ email: 'root@example.com', challenge_id: pinRequest.body.challenge_id, pin: `${'x0000'.replace('x', String(i))}0` })
        .expect(401);
    }
    assert.ok(
      (await events('platform')).some(
        (row: { action: string; resource_id: string }) =>
          row.action === 'admin.pin_locked' && row.resource_id === pinRequest.body.challenge_id,
      ),
    );
  });

  it('GET /audit/verify: the chain is valid, and each tampering in SQL is found with its kind', async () => {
    const chain = await createOrg(warden, 'professional', 'Chain');
    const chainKey = { 'X-API-Key': chain.key };
    for (let i = 0; i < 6; i++)
      await warden.request
        .post(`/api/v1/orgs/${chain.id}/workspaces`)
        .set(chainKey)
        .send({ name: `w${i}` })
        .expect(201);
    const ok = await warden.request.get('/api/v1/audit/verify').set(chainKey).expect(200);
    assert.deepEqual(ok.body, {
      valid: true,
      org_id: chain.id,
      events_checked: 6,
      head_seq: 6,
      first_broken_seq: null,
      reason: null,
      checkpoint: null,
    });

    const query = (sql: string) => warden.auditRows(sql, [chain.id]);
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
    assert.deepEqual(await verdict(), {
      valid: false,
      org_id: chain.id,
      events_checked: 2,
      head_seq: 6,
      first_broken_seq: 3,
      reason: 'edited',
      checkpoint: null,
    });
    await restore();

    // Backdating by a millisecond is caught: verification reads the time at the precision it was hashed with.
    await query(`UPDATE audit_events SET occurred_at = occurred_at - interval '1 millisecond' WHERE org_id = $1 AND seq = 4`);
    assert.deepEqual(await verdict(), {
      valid: false,
      org_id: chain.id,
      events_checked: 3,
      head_seq: 6,
      first_broken_seq: 4,
      reason: 'edited',
      checkpoint: null,
    });
    await restore();

    await query(`DELETE FROM audit_events WHERE org_id = $1 AND seq = 4`);
    assert.deepEqual(await verdict(), {
      valid: false,
      org_id: chain.id,
      events_checked: 3,
      head_seq: 6,
      first_broken_seq: 4,
      reason: 'deleted',
      checkpoint: null,
    });
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
    await warden.database.dataSource.query(`UPDATE audit_events SET resource_id = 'ws_forged', hash = $2 WHERE org_id = $1 AND seq = 3`, [
      chain.id,
      rehash,
    ]);
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
    const byWorkspace = await warden.request
      .get(`/api/v1/audit-logs?workspace_id=${ws.body.workspaces.at(-1).id}`)
      .set(key)
      .expect(200);
    assert.ok(byWorkspace.body.events.every((event: { workspace_id: string }) => event.workspace_id === ws.body.workspaces.at(-1).id));

    const byRequest = await warden.request.get('/api/v1/audit-events?correlation_id=trace-workspace-1').set(key).expect(200);
    assert.deepEqual(
      byRequest.body.events.map((event: { action: string }) => event.action),
      ['workspace.created'],
    );
    const byActor = await warden.request.get(`/api/v1/audit-events?actor=${org.keyId}&action=workspace.created`).set(key).expect(200);
    assert.ok(byActor.body.events.length >= 1);
    const resource = byRequest.body.events[0].resource_id;
    const byResource = await warden.request.get(`/api/v1/audit-events?resource=${resource}`).set(key).expect(200);
    assert.ok(byResource.body.events.every((event: { resource_id: string }) => event.resource_id === resource));
    const future = await warden.request
      .get(`/api/v1/audit-events?since=${new Date(Date.now() + 60_000).toISOString()}`)
      .set(key)
      .expect(200);
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

    const listed = (await warden.request.get('/api/v1/audit-logs?organization_id=platform&limit=200').set(admin).expect(200)).body
      .events as Event[];
    assert.ok(listed.every((event) => event.org_id === 'platform'));
    assert.ok(listed.some((event) => event.action === 'auth.login_failed' && event.actor_id === 'nobody-here@example.com'));

    const verdict = (await warden.request.get('/api/v1/audit/verify?organization_id=platform').set(admin).expect(200)).body;
    assert.deepEqual(
      [verdict.valid, verdict.org_id, verdict.first_broken_seq, verdict.events_checked],
      [true, 'platform', null, verdict.head_seq],
    );
    assert.ok(verdict.head_seq >= listed.length);

    const exported = (await warden.request.get('/api/v1/audit/export.jsonl?org_id=platform').set(admin).expect(200)).text
      .trim()
      .split('\n')
      .map((line: string) => JSON.parse(line) as Event);
    assert.deepEqual(
      exported.map((event) => event.seq),
      Array.from({ length: verdict.head_seq }, (_, i) => i + 1),
    );
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
    await warden.database.dataSource.query(
      `UPDATE audit_events SET actor_id = 'someone-else@example.com' WHERE org_id = 'platform' AND seq = 1`,
    );
    try {
      const broken = (await warden.request.get('/api/v1/audit/verify?organization_id=platform').set(admin).expect(200)).body;
      assert.deepEqual([broken.valid, broken.first_broken_seq, broken.reason], [false, 1, 'edited']);
    } finally {
      await warden.database.dataSource.query(`UPDATE audit_events SET actor_id = $1 WHERE org_id = 'platform' AND seq = 1`, [
        exported[0]!.actor_id,
      ]);
    }

    for (const path of [
      '/api/v1/audit-logs?organization_id=platform',
      '/api/v1/audit/verify?organization_id=platform',
      '/api/v1/audit/export.jsonl?org_id=platform',
      '/api/v1/audit/export.csv?org_id=platform',
    ]) {
      const refused = await warden.request.get(path).set(key).expect(403);
      assert.equal(refused.body.code, 'PLATFORM_ADMIN_REQUIRED', path);
    }
  });
});
