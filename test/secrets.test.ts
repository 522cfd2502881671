import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

interface Reported {
  cluster_name: string;
  provider: string;
  ref: string;
  labels?: Record<string, string>;
  status?: string;
  last_seen?: string;
}

describe('secrets: agents report discovered secrets in bulk, people list and read them; never a value (seed 002)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  const handled: string[] = [];

  /** A minted agent of the org and the header its secret goes in. */
  const mintAgent = async (owner: TestOrg, name: string) => {
    const res = await warden.request.post('/api/v1/agents').set('X-API-Key', owner.key).send({ name }).expect(201);
    handled.push(res.body.agent_secret);
    return { id: res.body.id as string, auth: { 'X-Agent-Secret': res.body.agent_secret as string } };
  };
  const report = (agent: { id: string; auth: Record<string, string> }, secrets: unknown[]) =>
    warden.request.post(`/api/v1/agents/${agent.id}/secrets/bulk`).set(agent.auth).send({ secrets });
  const rowsOf = (orgId: string) =>
    warden.database.dataSource.query(
      `SELECT id, cluster_name, provider, ref, labels, status, agent_id, first_seen, last_seen, created_at, updated_at
       FROM discovered_secrets WHERE org_id = $1 ORDER BY cluster_name, provider, ref`,
      [orgId],
    );
  const list = (query: string, owner: TestOrg = org) =>
    warden.request.get(`/api/v1/secrets${query}`).set('X-API-Key', owner.key).expect(200);
  const refsOf = (res: { body: { secrets: Array<{ ref: string }> } }) => res.body.secrets.map((secret) => secret.ref).sort();

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise', 'Secrets org');
    other = await createOrg(warden, 'enterprise', 'Other org');
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /agents/{id}/secrets/bulk upserts idempotently and answers with counts; one audit event per call', async () => {
    const agent = await mintAgent(org, 'discoverer');
    const batch: Reported[] = [
      { cluster_name: 'prod-eu-1', provider: 'kubernetes', ref: 'payments/db', labels: { app: 'payments', env: 'production' } },
      {
        cluster_name: 'prod-eu-1',
        provider: 'vault',
        ref: 'secret/data/payments/stripe',
        status: 'active',
        last_seen: '2026-11-25T09:00:00Z',
      },
    ];
    const first = await report(agent, batch).expect(200);
    assert.deepEqual(first.body, { received: 2, created: 2, updated: 0, unchanged: 0 });
    const event = await theAuditEventOf(warden, first);
    assert.equal(event.action, 'secret.discovered');
    assert.deepEqual([event.org_id, event.actor_type, event.actor_id, event.resource_id], [org.id, 'agent', agent.id, agent.id]);
    assert.deepEqual(event.details.after, first.body);

    const rows = await rowsOf(org.id);
    assert.equal(rows.length, 2);
    assert.match(rows[0].id, /^sec_[0-9a-z]{26}$/);
    assert.deepEqual(rows[0].labels, { app: 'payments', env: 'production' });
    assert.equal(rows[0].status, 'active');
    assert.equal(rows[0].agent_id, agent.id);
    assert.equal(rows[1].last_seen.toISOString(), '2026-11-25T09:00:00.000Z');
    assert.equal(rows[1].first_seen.toISOString(), '2026-11-25T09:00:00.000Z');

    // The same body again: same rows, nothing changed, still one event.
    const again = await report(agent, batch).expect(200);
    assert.deepEqual(again.body, { received: 2, created: 0, updated: 0, unchanged: 2 });
    await theAuditEventOf(warden, again);
    const repeated = await rowsOf(org.id);
    assert.deepEqual(
      repeated.map((row: Record<string, unknown>) => ({ ...row, last_seen: undefined })),
      rows.map((row: Record<string, unknown>) => ({ ...row, last_seen: undefined })),
    );

    // A changed label or status is an update; a report older than what is held changes neither.
    const changed = await report(agent, [
      { ...batch[0], labels: { app: 'payments', env: 'staging' } },
      { ...batch[1], status: 'deleted', last_seen: '2026-11-24T09:00:00Z' },
      { cluster_name: 'prod-eu-1', provider: 'kubernetes', ref: 'payments/api-key' },
    ]).expect(200);
    assert.deepEqual(changed.body, { received: 3, created: 1, updated: 1, unchanged: 1 });
    const [apiKey, db, stripe] = await rowsOf(org.id);
    assert.deepEqual(db.labels, { app: 'payments', env: 'staging' });
    assert.ok(db.updated_at > rows[0].updated_at);
    assert.equal(stripe.status, 'active');
    assert.equal(stripe.last_seen.toISOString(), '2026-11-25T09:00:00.000Z');
    assert.equal(stripe.first_seen.toISOString(), '2026-11-24T09:00:00.000Z');
    assert.equal(apiKey.status, 'active');
    assert.deepEqual(apiKey.labels, {});

    // A clock ahead of Warden's cannot put last_seen in the future.
    await report(agent, [{ ...batch[1], last_seen: '2999-01-01T00:00:00Z' }]).expect(200);
    const [, , future] = await rowsOf(org.id);
    assert.ok(future.last_seen.getTime() <= Date.now());
  });

  it('a report of the same secret by another agent of the org updates it; both agents serve the cluster', async () => {
    const a = await mintAgent(org, 'cluster-agent-a');
    const b = await mintAgent(org, 'cluster-agent-b');
    const secret = { cluster_name: 'shared-1', provider: 'kubernetes', ref: 'ns/shared' };
    assert.deepEqual((await report(a, [secret]).expect(200)).body, { received: 1, created: 1, updated: 0, unchanged: 0 });
    await report(a, [{ cluster_name: 'only-a', provider: 'kubernetes', ref: 'ns/mine' }]).expect(200);
    assert.deepEqual((await report(b, [secret]).expect(200)).body, { received: 1, created: 0, updated: 1, unchanged: 0 });
    const seen = await warden.services.secrets.resolve(org.id, { clusterName: 'shared-1', provider: 'kubernetes', ref: 'ns/shared' });
    assert.equal(seen.agent_id, b.id);
    assert.deepEqual(await warden.services.secrets.clustersServedBy(org.id, a.id), ['only-a', 'shared-1']);
    assert.deepEqual(await warden.services.secrets.clustersServedBy(org.id, b.id), ['shared-1']);
    assert.deepEqual(await warden.services.secrets.clustersServedBy(other.id, a.id), []);
  });

  it('refuses 1,001 items, duplicates, a value field, unknown statuses and label keys out of form: 422, nothing written', async () => {
    const agent = await mintAgent(org, 'validating');
    const existing = await rowsOf(org.id);
    const many = Array.from({ length: 1001 }, (_, i) => ({ cluster_name: 'big', provider: 'kubernetes', ref: `ns/s-${i}` }));
    const tooMany = await report(agent, many).expect(422);
    assert.equal(tooMany.body.code, 'VALIDATION_FAILED');
    const value = `hunter2-${randomBytes(12).toString('hex')}`;
    handled.push(value);
    const withValue = await report(agent, [{ cluster_name: 'c', provider: 'kubernetes', ref: 'ns/a', value }]).expect(422);
    assert.ok(!JSON.stringify(withValue.body).includes(value));
    const duplicate = await report(agent, [
      { cluster_name: 'c', provider: 'kubernetes', ref: 'ns/a' },
      { cluster_name: 'c', provider: 'kubernetes', ref: 'ns/b' },
      { cluster_name: 'c', provider: 'kubernetes', ref: 'ns/a', labels: { x: 'y' } },
    ]).expect(422);
    assert.deepEqual(duplicate.body.details, [
      { location: 'body', field: 'secrets/2', message: 'names the same secret as secrets/0', rule: 'uniqueItems' },
    ]);
    const badKey = await report(agent, [{ cluster_name: 'c', provider: 'kubernetes', ref: 'ns/a', labels: { 'env:x': 'y' } }]).expect(422);
    assert.equal(badKey.body.details[0].field, 'secrets/0/labels');
    const tooManyLabels = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    await report(agent, [{ cluster_name: 'c', provider: 'kubernetes', ref: 'ns/a', labels: tooManyLabels }]).expect(422);
    await report(agent, [{ cluster_name: 'c', provider: 'kubernetes', ref: 'ns/a', labels: { k: 'v'.repeat(257) } }]).expect(422);
    await report(agent, [{ cluster_name: 'c', provider: 'kubernetes', ref: 'ns/a', status: 'gone' }]).expect(422);
    await report(agent, [{ cluster_name: 'c d', provider: 'kubernetes', ref: 'ns/a' }]).expect(422);
    await report(agent, []).expect(422);
    await warden.request.post(`/api/v1/agents/${agent.id}/secrets/bulk`).set(agent.auth).type('json').send('{"secrets": [').expect(400);
    assert.deepEqual(await rowsOf(org.id), existing);
  });

  it('a label value that looks like a credential is stored and shown as the metadata it is', async () => {
    const agent = await mintAgent(org, 'labeller');
    const lookalike = `sk_live_${'A'.repeat(30)}`;
    const res = await report(agent, [{ cluster_name: 'labels-1', provider: 'vault', ref: 'kv/odd', labels: { note: lookalike } }]).expect(
      200,
    );
    assert.equal(res.body.created, 1);
    const listed = await list('?cluster_name=labels-1');
    assert.deepEqual(listed.body.secrets[0].labels, { note: lookalike });
  });

  it('only the agent itself reports, and only while it is live: another agent 403, killed or revoked 401, no credential 401', async () => {
    const agent = await mintAgent(org, 'self');
    const sibling = await mintAgent(org, 'sibling');
    const secret = { cluster_name: 'self-1', provider: 'kubernetes', ref: 'ns/x' };
    const foreign = await report({ id: sibling.id, auth: agent.auth }, [secret]).expect(403);
    assert.equal(foreign.body.code, 'NOT_THIS_AGENT');
    const byKey = await warden.request
      .post(`/api/v1/agents/${agent.id}/secrets/bulk`)
      .set('X-API-Key', org.key)
      .send({ secrets: [secret] });
    assert.equal(byKey.status, 403);
    assert.equal(byKey.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    await warden.request
      .post(`/api/v1/agents/${agent.id}/secrets/bulk`)
      .send({ secrets: [secret] })
      .expect(401);

    await warden.request.post(`/api/v1/kill-switch/${agent.id}`).set('X-API-Key', org.key).send({ reason: 'test' }).expect(200);
    assert.equal((await report(agent, [secret]).expect(401)).body.code, 'CREDENTIAL_REVOKED');
    await warden.request.post(`/api/v1/agents/${sibling.id}/revoke`).set('X-API-Key', org.key).expect(200);
    assert.equal((await report(sibling, [secret]).expect(401)).body.code, 'CREDENTIAL_REVOKED');
    assert.deepEqual(
      (await rowsOf(org.id)).filter((row: { cluster_name: string }) => row.cluster_name === 'self-1'),
      [],
    );
  });

  it('tenant isolation: org B’s agent cannot write into org A; org A cannot read org B’s secrets', async () => {
    const agentA = await mintAgent(org, 'tenant-a');
    const agentB = await mintAgent(other, 'tenant-b');
    const secret = { cluster_name: 'tenant-1', provider: 'kubernetes', ref: 'ns/same', labels: { owner: 'a' } };
    await report(agentA, [secret]).expect(200);
    const intoA = await report({ id: agentA.id, auth: agentB.auth }, [{ ...secret, labels: { owner: 'b' } }]).expect(403);
    assert.equal(intoA.body.code, 'NOT_THIS_AGENT');
    // The same place reported in org B is org B's own row.
    assert.deepEqual((await report(agentB, [{ ...secret, labels: { owner: 'b' } }]).expect(200)).body.created, 1);
    const [a] = (await rowsOf(org.id)).filter((row: { cluster_name: string }) => row.cluster_name === 'tenant-1');
    const [b] = await rowsOf(other.id);
    assert.deepEqual([a.labels, a.agent_id], [{ owner: 'a' }, agentA.id]);
    assert.deepEqual([b.labels, b.agent_id], [{ owner: 'b' }, agentB.id]);

    const user = await createUserAndLogin(warden, org, 'reader@secrets.test', 'viewer');
    const bearer = { Authorization: `Bearer ${user.token}` };
    const own = await warden.request.get(`/api/v1/secrets/${a.id}`).set(bearer).expect(200);
    assert.equal(own.body.ref, 'ns/same');
    const foreign = await warden.request.get(`/api/v1/secrets/${b.id}`).set(bearer).expect(404);
    assert.equal(foreign.body.code, 'SECRET_NOT_FOUND');
    const listed = await warden.request.get('/api/v1/secrets?cluster_name=tenant-1').set(bearer).expect(200);
    assert.deepEqual(
      listed.body.secrets.map((secret: { id: string }) => secret.id),
      [a.id],
    );
    await assert.rejects(warden.services.secrets.resolve(org.id, { secretId: b.id }), { code: 'SECRET_NOT_FOUND' });
    await assert.rejects(warden.services.secrets.resolve(org.id, { clusterName: 'tenant-1', provider: 'kubernetes', ref: 'ns/gone' }), {
      code: 'SECRET_NOT_FOUND',
    });
    assert.equal((await warden.services.secrets.resolve(other.id, { secretId: b.id })).agent_id, agentB.id);
  });

  it('GET /secrets filters by cluster, provider, status, literal ref prefix (% and _ included) and every label given', async () => {
    const agent = await mintAgent(org, 'filters');
    const at = (ref: string, provider: string, labels: Record<string, string>, status = 'active') => ({
      cluster_name: 'filter-1',
      provider,
      ref,
      labels,
      status,
    });
    await report(agent, [
      at('app%1/db', 'kubernetes', { env: 'prod', app: 'pay' }),
      at('app_1/db', 'kubernetes', { env: 'prod', app: 'shop' }),
      at('appX1/db', 'vault', { env: 'dev', app: 'pay' }),
      at('app\\1/db', 'vault', { env: 'prod', url: 'https://x:1' }, 'deleted'),
    ]).expect(200);
    await report(agent, [{ cluster_name: 'filter-2', provider: 'kubernetes', ref: 'app%1/db', labels: { env: 'prod' } }]).expect(200);
    const q = (query: string) => list(`?cluster_name=filter-1&${query}`).then(refsOf);

    assert.deepEqual(refsOf(await list('?cluster_name=filter-1')), ['app%1/db', 'appX1/db', 'app\\1/db', 'app_1/db'].sort());
    assert.deepEqual(refsOf(await list('?ref_prefix=app%251')), ['app%1/db', 'app%1/db']);
    assert.deepEqual(await q('ref_prefix=app_'), ['app_1/db']);
    assert.deepEqual(await q('ref_prefix=app%5C'), ['app\\1/db']);
    assert.deepEqual(await q('ref_prefix=app'), ['app%1/db', 'appX1/db', 'app\\1/db', 'app_1/db'].sort());
    assert.deepEqual(await q('provider=vault'), ['appX1/db', 'app\\1/db'].sort());
    assert.deepEqual(await q('status=deleted'), ['app\\1/db']);
    assert.deepEqual(await q('label=env:prod'), ['app%1/db', 'app\\1/db', 'app_1/db'].sort());
    assert.deepEqual(await q('label=env:prod&label=app:pay'), ['app%1/db']);
    assert.deepEqual(await q('label=env:prod&label=env:dev'), []);
    assert.deepEqual(await q(`label=${encodeURIComponent('url:https://x:1')}`), ['app\\1/db']);
    assert.deepEqual(await q('label=env:prod&provider=kubernetes&ref_prefix=app_'), ['app_1/db']);

    const bad = await warden.request.get('/api/v1/secrets?label=env').set('X-API-Key', org.key).expect(400);
    assert.equal(bad.body.code, 'INVALID_PARAMETER');
    await warden.request.get('/api/v1/secrets?status=gone').set('X-API-Key', org.key).expect(400);
    await warden.request.get('/api/v1/secrets/sec_unknown').set('X-API-Key', org.key).expect(404);
    await warden.request.get('/api/v1/secrets/not-an-id').set('X-API-Key', org.key).expect(400);
  });

  it('GET /secrets pages newest first with a cursor', async () => {
    const agent = await mintAgent(org, 'pager');
    const refs = Array.from({ length: 5 }, (_, i) => `page/${i}`);
    for (const ref of refs) await report(agent, [{ cluster_name: 'pages-1', provider: 'kubernetes', ref }]).expect(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await list(`?cluster_name=pages-1&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(res.body.secrets.length <= 2);
      seen.push(...res.body.secrets.map((secret: { ref: string }) => secret.ref));
      assert.equal(res.body.has_more, res.body.next_cursor !== null);
      cursor = res.body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...refs].reverse());
    const bad = await warden.request.get('/api/v1/secrets?cursor=bm9wZQ').set('X-API-Key', org.key).expect(400);
    assert.equal(bad.body.code, 'INVALID_CURSOR');
  });

  it('reading needs secret.read: a key without it 403, an agent secret 403, no credential 401', async () => {
    const narrow = await warden.request
      .post('/api/v1/api-keys')
      .set('X-API-Key', org.key)
      .send({ name: 'narrow', description: 'Reads workspaces only', expires_in_days: 30, permissions: ['workspace.read'] })
      .expect(201);
    handled.push(narrow.body.key);
    const denied = await warden.request.get('/api/v1/secrets').set('X-API-Key', narrow.body.key).expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    const [row] = await rowsOf(org.id);
    await warden.request.get(`/api/v1/secrets/${row.id}`).set('X-API-Key', narrow.body.key).expect(403);
    const agent = await mintAgent(org, 'reader-agent');
    assert.equal((await warden.request.get('/api/v1/secrets').set(agent.auth).expect(403)).body.code, 'CREDENTIAL_NOT_ACCEPTED');
    await warden.request.get('/api/v1/secrets').expect(401);
    await warden.request.get(`/api/v1/secrets/${row.id}`).expect(401);
  });

  it('overlapping reports racing each other all land: no deadlock, one row per secret', async () => {
    const agents = await Promise.all([mintAgent(org, 'race-1'), mintAgent(org, 'race-2'), mintAgent(org, 'race-3')]);
    const batch = (reverse: boolean) => {
      const items = Array.from({ length: 200 }, (_, i) => ({ cluster_name: 'race-1', provider: 'kubernetes', ref: `ns/r-${i}` }));
      return reverse ? items.reverse() : items;
    };
    const answers = await Promise.all(agents.map((agent, i) => report(agent, batch(i % 2 === 1))));
    assert.deepEqual(
      answers.map((res) => res.status),
      [200, 200, 200],
    );
    assert.equal(
      answers.reduce((sum, res) => sum + res.body.created, 0),
      200,
    );
    const [{ n }] = await warden.database.dataSource.query(
      `SELECT count(*)::int AS n FROM discovered_secrets WHERE org_id = $1 AND cluster_name = 'race-1'`,
      [org.id],
    );
    assert.equal(n, 200);
  });
});
