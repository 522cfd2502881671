import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { evaluatePolicies } from '../src/modules/policies';
import { createOrg, createUserAndLogin, summary, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/** Seed 001's POST /v1/policies body, field for field. */
const seedBody = (orgId: string, name = 'support-bot') => ({
  org_id: orgId,
  name,
  allowed_actions: ['chat.completions', 'embeddings'],
  denied_path_prefixes: ['/v1/files', '/admin'],
  max_cost_per_request: 0.5,
  require_approval: false,
  approval_min_cost: 0.25,
  approval_actions: ['chat.refund'],
});

describe('policies: CRUD, versions, agents and workspaces naming them (seeds 000, 001, 002)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  let otherKey: { 'X-API-Key': string };

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise', 'Policy org');
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
    otherKey = { 'X-API-Key': other.key };
  });
  after(async () => {
    await warden.close();
  });

  const createPolicy = async (name: string, rules: Record<string, unknown> = {}) =>
    (
      await warden.request
        .post('/api/v1/policies')
        .set(key)
        .send({ name, ...rules })
        .expect(201)
    ).body;

  it("POST /policies takes seed 001's body verbatim: version 1, USD amounts kept, micro-dollars at rest, audited", async () => {
    const res = await warden.request.post('/api/v1/policies').set(key).send(seedBody(org.id)).expect(201);
    const { id, created_at, updated_at, ...rest } = res.body;
    assert.match(id, /^pol_[0-9a-z]{26}$/);
    assert.equal(created_at, updated_at);
    assert.deepEqual(rest, { ...seedBody(org.id), version: 1 });
    const [stored] = await warden.database.dataSource.query(
      `SELECT max_cost_per_request_micros::text AS max, approval_min_cost_micros::text AS min FROM policy_versions WHERE policy_id = $1`,
      [id],
    );
    assert.deepEqual(stored, { max: '500000', min: '250000' });
    const event = await theAuditEventOf(warden, res);
    assert.deepEqual(summary(event), {
      org: org.id,
      action: 'policy.created',
      actor: ['api_key', org.keyId],
      resource: ['policy', id],
      outcome: 'success',
    });
    assert.equal((event.details.after as { name: string }).name, 'support-bot');

    const got = await warden.request.get(`/api/v1/policies/${id}`).set(key).expect(200);
    assert.deepEqual(got.body, res.body);
  });

  it('defaults: only a name is needed; every list is empty, no cap, no approval', async () => {
    const res = await warden.request.post('/api/v1/policies').set(key).send({ name: 'bare' }).expect(201);
    assert.deepEqual(
      {
        allowed_actions: res.body.allowed_actions,
        denied_path_prefixes: res.body.denied_path_prefixes,
        max_cost_per_request: res.body.max_cost_per_request,
        require_approval: res.body.require_approval,
        approval_min_cost: res.body.approval_min_cost,
        approval_actions: res.body.approval_actions,
      },
      {
        allowed_actions: [],
        denied_path_prefixes: [],
        max_cost_per_request: null,
        require_approval: false,
        approval_min_cost: null,
        approval_actions: [],
      },
    );
  });

  it('refuses bad input: precision over 6 decimals, non-canonical or encoded prefixes, bad patterns, negative costs, extra fields', async () => {
    const refused = async (body: Record<string, unknown>, field: string) => {
      const res = await warden.request.post('/api/v1/policies').set(key).send(body).expect(422);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
      assert.ok(
        res.body.details.some((detail: { field: string }) => detail.field.startsWith(field)),
        `${JSON.stringify(body)}: ${JSON.stringify(res.body.details)}`,
      );
    };
    await refused({ name: 'p', max_cost_per_request: 0.0000001 }, 'max_cost_per_request');
    await refused({ name: 'p', approval_min_cost: 1.1234567 }, 'approval_min_cost');
    await refused({ name: 'p', max_cost_per_request: -1 }, 'max_cost_per_request');
    await refused({ name: 'p', max_cost_per_request: 1e12 }, 'max_cost_per_request');
    for (const prefix of ['//admin', '/a/./b', '/a/../b', '/admin/.', 'admin', '/%61dmin', '/a\\b', '/a;b', '/a b']) {
      await refused({ name: 'p', denied_path_prefixes: [prefix] }, 'denied_path_prefixes');
    }
    for (const action of ['', ' chat', 'chat  send', 'chat\u0000', 'x'.repeat(201)]) {
      await refused({ name: 'p', allowed_actions: [action] }, 'allowed_actions');
    }
    await refused({ name: 'p', approval_actions: Array.from({ length: 101 }, (_, i) => `a${i}`) }, 'approval_actions');
    await refused({ name: 'p', allowed_actions: ['a', 'a'] }, 'allowed_actions');
    await refused({ name: 'p\u0000' }, 'name');
    await refused({ name: 'p', surprise: true }, '');
    const precise = await warden.request.post('/api/v1/policies').set(key).send({ name: 'precise', max_cost_per_request: 0.000001 });
    assert.equal(precise.status, 201);
    assert.equal(precise.body.max_cost_per_request, 0.000001);
  });

  it('names are unique in the org, ignoring case (409); another org may use the same name', async () => {
    await createPolicy('Unique-Name');
    const clash = await warden.request.post('/api/v1/policies').set(key).send({ name: 'unique-name' }).expect(409);
    assert.equal(clash.body.code, 'POLICY_NAME_TAKEN');
    await warden.request.post('/api/v1/policies').set(otherKey).send({ name: 'unique-name' }).expect(201);
    const renamed = await createPolicy('to-rename');
    const taken = await warden.request.put(`/api/v1/policies/${renamed.id}`).set(key).send({ name: 'UNIQUE-NAME' }).expect(409);
    assert.equal(taken.body.code, 'POLICY_NAME_TAKEN');
    const unchanged = await warden.request.get(`/api/v1/policies/${renamed.id}`).set(key).expect(200);
    assert.equal(unchanged.body.version, 1);
  });

  it('PUT replaces the whole policy as a new version; old versions stay readable and never change', async () => {
    const created = await createPolicy('versioned', { allowed_actions: ['chat.*'], max_cost_per_request: 1.5, require_approval: true });
    const res = await warden.request
      .put(`/api/v1/policies/${created.id}`)
      .set(key)
      .send({ name: 'versioned-2', denied_path_prefixes: ['/admin'] })
      .expect(200);
    assert.equal(res.body.version, 2);
    assert.equal(res.body.name, 'versioned-2');
    // A full replace: what the body omits takes its default.
    assert.deepEqual(res.body.allowed_actions, []);
    assert.equal(res.body.max_cost_per_request, null);
    assert.equal(res.body.require_approval, false);
    assert.equal(res.body.created_at, created.created_at);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'policy.updated');
    assert.deepEqual((event.details.before as { version: number; name: string }).version, 1);
    assert.deepEqual((event.details.after as { version: number }).version, 2);

    const v1 = await warden.request.get(`/api/v1/policies/${created.id}/versions/1`).set(key).expect(200);
    assert.deepEqual(v1.body, {
      policy_id: created.id,
      version: 1,
      name: 'versioned',
      allowed_actions: ['chat.*'],
      denied_path_prefixes: [],
      max_cost_per_request: 1.5,
      require_approval: true,
      approval_min_cost: null,
      approval_actions: [],
      created_at: created.created_at,
    });
    const missing = await warden.request.get(`/api/v1/policies/${created.id}/versions/3`).set(key).expect(404);
    assert.equal(missing.body.code, 'POLICY_VERSION_NOT_FOUND');

    await warden.request.put(`/api/v1/policies/${created.id}`).set(key).send({ name: 'versioned-3' }).expect(200);
    const page1 = await warden.request.get(`/api/v1/policies/${created.id}/versions?limit=2`).set(key).expect(200);
    assert.deepEqual(
      page1.body.versions.map((v: { version: number }) => v.version),
      [3, 2],
    );
    assert.equal(page1.body.has_more, true);
    const page2 = await warden.request
      .get(`/api/v1/policies/${created.id}/versions?limit=2&cursor=${page1.body.next_cursor}`)
      .set(key)
      .expect(200);
    assert.deepEqual(
      page2.body.versions.map((v: { version: number; name: string }) => [v.version, v.name]),
      [[1, 'versioned']],
    );
    assert.equal(page2.body.has_more, false);
    const bad = await warden.request.get(`/api/v1/policies/${created.id}/versions?cursor=bm9wZQ`).set(key).expect(400);
    assert.equal(bad.body.code, 'INVALID_CURSOR');
  });

  it('concurrent PUTs each make their own version: none is lost or numbered twice', async () => {
    const created = await createPolicy('raced');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        warden.request
          .put(`/api/v1/policies/${created.id}`)
          .set(key)
          .send({ name: 'raced', approval_actions: [`a${i}`] }),
      ),
    );
    assert.deepEqual(
      results.map((res) => res.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.deepEqual(results.map((res) => res.body.version).sort(), [2, 3, 4, 5, 6, 7]);
    const versions = await warden.request.get(`/api/v1/policies/${created.id}/versions`).set(key).expect(200);
    assert.deepEqual(
      versions.body.versions.map((v: { version: number }) => v.version),
      [7, 6, 5, 4, 3, 2, 1],
    );
  });

  it('GET /policies pages newest first with limit and cursor', async () => {
    const names = ['page-a', 'page-b', 'page-c'];
    for (const name of names) await createPolicy(name);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { policies: Array<{ name: string }>; next_cursor: string | null } } = await warden.request
        .get(`/api/v1/policies?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(key)
        .expect(200);
      assert.ok(res.body.policies.length <= 2);
      seen.push(...res.body.policies.map((policy) => policy.name));
      cursor = res.body.next_cursor;
    } while (cursor);
    assert.deepEqual(
      seen.filter((name) => names.includes(name)),
      ['page-c', 'page-b', 'page-a'],
    );
    assert.equal(new Set(seen).size, seen.length);
  });

  it("tenant isolation: another org's policy is 404 to read, list, change, delete or see versions of, and unknown to name", async () => {
    const mine = await createPolicy('private');
    const get = await warden.request.get(`/api/v1/policies/${mine.id}`).set(otherKey).expect(404);
    assert.equal(get.body.code, 'POLICY_NOT_FOUND');
    await warden.request.put(`/api/v1/policies/${mine.id}`).set(otherKey).send({ name: 'stolen' }).expect(404);
    await warden.request.delete(`/api/v1/policies/${mine.id}?force=true`).set(otherKey).expect(404);
    await warden.request.get(`/api/v1/policies/${mine.id}/versions`).set(otherKey).expect(404);
    await warden.request.get(`/api/v1/policies/${mine.id}/versions/1`).set(otherKey).expect(404);
    const list = await warden.request.get('/api/v1/policies?limit=200').set(otherKey).expect(200);
    assert.ok(!list.body.policies.some((policy: { id: string }) => policy.id === mine.id));
    // Naming the other org in the body is refused as if it did not exist.
    await warden.request.post('/api/v1/policies').set(otherKey).send(seedBody(org.id, 'intruder')).expect(404);

    const agent = await warden.request
      .post('/api/v1/agents')
      .set(otherKey)
      .send({ name: 'b-agent', policy_ids: [mine.id] })
      .expect(422);
    assert.equal(agent.body.code, 'UNKNOWN_POLICY');
    assert.ok(!JSON.stringify(agent.body).includes('private'));
    const ws = await warden.request.post(`/api/v1/orgs/${other.id}/workspaces`).set(otherKey).send({ name: 'b-ws' }).expect(201);
    const set = await warden.request
      .put(`/api/v1/workspaces/${ws.body.id}/policy`)
      .set(otherKey)
      .send({ policy_ids: [mine.id] })
      .expect(422);
    assert.equal(set.body.code, 'UNKNOWN_POLICY');
    const mineWs = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'a-ws' }).expect(201);
    await warden.request.get(`/api/v1/workspaces/${mineWs.body.id}/policy`).set(otherKey).expect(404);
    await warden.request.put(`/api/v1/workspaces/${mineWs.body.id}/policy`).set(otherKey).send({ policy_ids: [] }).expect(404);
    const aAgent = await warden.request.post('/api/v1/agents').set(key).send({ name: 'a-agent' }).expect(201);
    await warden.request.put(`/api/v1/agents/${aAgent.body.id}/policies`).set(otherKey).send({ policy_ids: [] }).expect(404);
    assert.deepEqual((await warden.services.policies.governanceOf(other.id, aAgent.body.id))?.policies ?? [], []);
  });

  it('a viewer reads policies but cannot create, change, delete or assign them (403)', async () => {
    const policy = await createPolicy('viewed');
    const viewer = await createUserAndLogin(warden, org, 'viewer@example.com', 'viewer');
    const auth = { Authorization: `Bearer ${viewer.token}` };
    await warden.request.get('/api/v1/policies').set(auth).expect(200);
    await warden.request.get(`/api/v1/policies/${policy.id}`).set(auth).expect(200);
    await warden.request.get(`/api/v1/policies/${policy.id}/versions`).set(auth).expect(200);
    const denied = await warden.request.post('/api/v1/policies').set(auth).send({ name: 'nope' }).expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    await warden.request.put(`/api/v1/policies/${policy.id}`).set(auth).send({ name: 'nope' }).expect(403);
    await warden.request.delete(`/api/v1/policies/${policy.id}`).set(auth).expect(403);
    const agent = await warden.request.post('/api/v1/agents').set(key).send({ name: 'viewed-agent' }).expect(201);
    await warden.request
      .put(`/api/v1/agents/${agent.body.id}/policies`)
      .set(auth)
      .send({ policy_ids: [policy.id] })
      .expect(403);
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'viewed-ws' }).expect(201);
    await warden.request.get(`/api/v1/workspaces/${ws.body.id}/policy`).set(auth).expect(200);
    await warden.request.put(`/api/v1/workspaces/${ws.body.id}/policy`).set(auth).send({ policy_ids: [] }).expect(403);
    const still = await warden.request.get(`/api/v1/policies/${policy.id}`).set(key).expect(200);
    assert.equal(still.body.version, 1);
  });

  it("agents' policy_ids: createAgent (seeds 001/002) and PUT /agents/{id}/policies take only live policies of the org", async () => {
    const a = await createPolicy('agent-a');
    const b = await createPolicy('agent-b');
    const minted = await warden.request
      .post('/api/v1/agents')
      .set(key)
      .send({ org_id: org.id, name: 'governed', daily_budget: 10, policy_ids: [a.id] })
      .expect(201);
    assert.deepEqual(minted.body.policy_ids, [a.id]);
    const bogus = 'pol_00000000000000000000000000';
    const refused = await warden.request
      .post('/api/v1/agents')
      .set(key)
      .send({ name: 'ungoverned', policy_ids: [a.id, bogus] })
      .expect(422);
    assert.equal(refused.body.code, 'UNKNOWN_POLICY');
    assert.deepEqual(refused.body.details, [
      { location: 'body', field: 'policy_ids/1', message: `'${bogus}' is not a policy of this org`, rule: 'exists' },
    ]);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM agents WHERE name = 'ungoverned'`);
    assert.equal(n, 0);
    await warden.request
      .post('/api/v1/agents')
      .set(key)
      .send({ name: 'x', policy_ids: ['not-a-policy'] })
      .expect(422);

    const set = await warden.request
      .put(`/api/v1/agents/${minted.body.id}/policies`)
      .set(key)
      .send({ policy_ids: [b.id, a.id] })
      .expect(200);
    assert.deepEqual(set.body.policy_ids, [b.id, a.id]);
    const event = await theAuditEventOf(warden, set);
    assert.deepEqual(summary(event), {
      org: org.id,
      action: 'agent.policies_updated',
      actor: ['api_key', org.keyId],
      resource: ['agent', minted.body.id],
      outcome: 'success',
    });
    assert.deepEqual(event.details.before, { policy_ids: [a.id] });
    assert.deepEqual((event.details.after as { policy_ids: string[] }).policy_ids, [b.id, a.id]);
    const unknown = await warden.request
      .put(`/api/v1/agents/${minted.body.id}/policies`)
      .set(key)
      .send({ policy_ids: [bogus] })
      .expect(422);
    assert.equal(unknown.body.code, 'UNKNOWN_POLICY');
    const ids = (await warden.services.policies.governanceOf(org.id, minted.body.id))?.policies ?? [];
    assert.deepEqual(
      ids.map((policy) => policy.id),
      [b.id, a.id],
    );
    await warden.request.put('/api/v1/agents/agt_00000000000000000000000000/policies').set(key).send({ policy_ids: [] }).expect(404);
  });

  it('workspaces name policies; their agents inherit them after their own, each once, at current versions', async () => {
    const own = await createPolicy('own', { allowed_actions: ['chat.*'] });
    const shared = await createPolicy('shared', { denied_path_prefixes: ['/admin'], max_cost_per_request: 2 });
    const strict = await createPolicy('strict', { require_approval: true, max_cost_per_request: 0.75, approval_actions: ['chat.refund'] });
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'inheriting' }).expect(201);
    const wsPolicy = `/api/v1/workspaces/${ws.body.id}/policy`;

    const empty = await warden.request.get(wsPolicy).set(key).expect(200);
    assert.deepEqual(empty.body, {
      workspace_id: ws.body.id,
      policy_ids: [],
      policies: [],
      merged: {
        default_deny: true,
        allowed_action_sets: [],
        denied_path_prefixes: [],
        max_cost_per_request: null,
        require_approval: false,
        approval_min_cost: null,
        approval_actions: [],
      },
    });

    const set = await warden.request
      .put(wsPolicy)
      .set(key)
      .send({ policy_ids: [shared.id, own.id, strict.id] })
      .expect(200);
    const event = await theAuditEventOf(warden, set);
    assert.deepEqual(summary(event), {
      org: org.id,
      action: 'workspace.policies_updated',
      actor: ['api_key', org.keyId],
      resource: ['workspace', ws.body.id],
      outcome: 'success',
    });
    assert.deepEqual(event.details.before, { policy_ids: [] });
    const got = await warden.request.get(wsPolicy).set(key).expect(200);
    assert.deepEqual(got.body, set.body);
    assert.deepEqual(got.body.policy_ids, [shared.id, own.id, strict.id]);
    assert.deepEqual(
      got.body.policies.map((p: { policy_id: string; version: number }) => [p.policy_id, p.version]),
      [
        [shared.id, 1],
        [own.id, 1],
        [strict.id, 1],
      ],
    );
    assert.deepEqual(got.body.merged, {
      default_deny: false,
      allowed_action_sets: [['chat.*']],
      denied_path_prefixes: ['/admin'],
      max_cost_per_request: 0.75,
      require_approval: true,
      approval_min_cost: null,
      approval_actions: ['chat.refund'],
    });

    const agent = await warden.request
      .post('/api/v1/agents')
      .set(key)
      .send({ name: 'inheritor', workspace_id: ws.body.id, policy_ids: [own.id] })
      .expect(201);
    await warden.request
      .put(`/api/v1/policies/${shared.id}`)
      .set(key)
      .send({ name: 'shared', denied_path_prefixes: ['/root'] })
      .expect(200);
    const effective = (await warden.services.policies.governanceOf(org.id, agent.body.id))?.policies ?? [];
    assert.deepEqual(
      effective.map((policy) => [policy.id, policy.version]),
      [
        [own.id, 1],
        [shared.id, 2],
        [strict.id, 1],
      ],
    );
    assert.deepEqual(effective[1]!.rules, {
      allowed_actions: [],
      denied_path_prefixes: ['/root'],
      max_cost_per_request_micros: null,
      require_approval: false,
      approval_min_cost_micros: null,
      approval_actions: [],
    });
    assert.equal(effective[2]!.rules.max_cost_per_request_micros, 750_000);
    // The evaluator over what governs the agent: its own policy's allow-list, then the workspace's rules.
    const verdict = (action: string, path: string, costMicros: number) =>
      evaluatePolicies(effective, { action, method: 'POST', path, costMicros });
    assert.deepEqual(verdict('files.list', '/v1', 0), {
      outcome: 'deny',
      policyId: own.id,
      policyVersion: 1,
      denyReason: 'action_not_allowed',
    });
    assert.equal(verdict('chat.send', '//root/x', 0).denyReason, 'path_denied');
    assert.equal(verdict('chat.send', '/v1', 800_000).denyReason, 'cost_exceeds_max');
    assert.deepEqual(verdict('chat.send', '/v1', 0), {
      outcome: 'approval_required',
      policyId: strict.id,
      policyVersion: 1,
      denyReason: null,
    });

    // An agent outside any workspace, naming nothing, is denied everything.
    const loner = await warden.request.post('/api/v1/agents').set(key).send({ name: 'loner' }).expect(201);
    const none = (await warden.services.policies.governanceOf(org.id, loner.body.id))?.policies ?? [];
    assert.deepEqual(none, []);
    assert.equal(evaluatePolicies(none, { action: 'x', method: 'GET', path: '/', costMicros: 0 }).denyReason, 'no_policy');

    await warden.request.put(wsPolicy).set(key).send({ policy_ids: [] }).expect(200);
    const unlinked = (await warden.services.policies.governanceOf(org.id, agent.body.id))?.policies ?? [];
    assert.deepEqual(
      unlinked.map((policy) => policy.id),
      [own.id],
    );
    await warden.request.get('/api/v1/workspaces/ws_00000000000000000000000000/policy').set(key).expect(404);
  });

  it('DELETE: 409 POLICY_IN_USE naming agents and workspaces; force removes it from them; its versions stay readable', async () => {
    const used = await createPolicy('in-use');
    const keep = await createPolicy('kept');
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'user-of-policy' }).expect(201);
    await warden.request
      .put(`/api/v1/workspaces/${ws.body.id}/policy`)
      .set(key)
      .send({ policy_ids: [used.id, keep.id] })
      .expect(200);
    const agent = await warden.request
      .post('/api/v1/agents')
      .set(key)
      .send({ name: 'user-agent', policy_ids: [keep.id, used.id] })
      .expect(201);

    const refused = await warden.request.delete(`/api/v1/policies/${used.id}`).set(key).expect(409);
    assert.equal(refused.body.code, 'POLICY_IN_USE');
    assert.ok(refused.body.message.includes(agent.body.id), refused.body.message);
    assert.ok(refused.body.message.includes(ws.body.id), refused.body.message);
    await warden.request.get(`/api/v1/policies/${used.id}`).set(key).expect(200);

    const forced = await warden.request.delete(`/api/v1/policies/${used.id}?force=true`).set(key).expect(204);
    const event = await theAuditEventOf(warden, forced);
    assert.equal(event.action, 'policy.deleted');
    assert.equal(event.details.force, true);
    assert.equal((event.details.before as { id: string }).id, used.id);
    const gone = await warden.request.get(`/api/v1/policies/${used.id}`).set(key).expect(404);
    assert.equal(gone.body.code, 'POLICY_NOT_FOUND');
    await warden.request.put(`/api/v1/policies/${used.id}`).set(key).send({ name: 'revived' }).expect(404);
    await warden.request.delete(`/api/v1/policies/${used.id}`).set(key).expect(404);
    const after = await warden.request.get(`/api/v1/agents/${agent.body.id}`).set(key).expect(200);
    assert.deepEqual(after.body.policy_ids, [keep.id]);
    const wsAfter = await warden.request.get(`/api/v1/workspaces/${ws.body.id}/policy`).set(key).expect(200);
    assert.deepEqual(wsAfter.body.policy_ids, [keep.id]);
    // Past decisions can still be explained.
    const v1 = await warden.request.get(`/api/v1/policies/${used.id}/versions/1`).set(key).expect(200);
    assert.equal(v1.body.name, 'in-use');
    await warden.request.get(`/api/v1/policies/${used.id}/versions`).set(key).expect(200);
    assert.equal((await warden.services.policies.versionOf(org.id, used.id, 1))?.name, 'in-use');
    assert.equal(await warden.services.policies.versionOf(other.id, used.id, 1), null);
    // The name is free again, and a deleted policy cannot be named.
    await createPolicy('in-use');
    await warden.request
      .post('/api/v1/agents')
      .set(key)
      .send({ name: 'late', policy_ids: [used.id] })
      .expect(422);

    const unused = await createPolicy('unused');
    await warden.request.delete(`/api/v1/policies/${unused.id}`).set(key).expect(204);
  });

  it('a deletion racing an assignment never leaves a reference to a deleted policy', async () => {
    for (let round = 0; round < 4; round++) {
      const policy = await createPolicy(`race-${round}`);
      const agent = await warden.request
        .post('/api/v1/agents')
        .set(key)
        .send({ name: `racer-${round}` })
        .expect(201);
      const [assigned, deleted] = await Promise.all([
        warden.request
          .put(`/api/v1/agents/${agent.body.id}/policies`)
          .set(key)
          .send({ policy_ids: [policy.id] }),
        warden.request.delete(`/api/v1/policies/${policy.id}`).set(key),
      ]);
      assert.ok([200, 422].includes(assigned.status), String(assigned.status));
      assert.ok([204, 409].includes(deleted.status), String(deleted.status));
      const [row] = await warden.database.dataSource.query(
        `SELECT a.policy_ids, p.deleted_at IS NOT NULL AS deleted FROM agents a, policies p WHERE a.id = $1 AND p.id = $2`,
        [agent.body.id, policy.id],
      );
      assert.ok(!(row.deleted && row.policy_ids.includes(policy.id)), JSON.stringify(row));
    }
  });

  it('every policy operation: 401 without a credential, 403 without its permission, 400 for a malformed id, cursor or body', async () => {
    const policy = await createPolicy('guarded');
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'guarded-ws' }).expect(201);
    const agent = await warden.request.post('/api/v1/agents').set(key).send({ name: 'guarded-agent' }).expect(201);
    const narrow = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'agents only', permissions: ['agent.read'] })
      .expect(201);
    const calls: Array<[string, string, Record<string, unknown> | undefined]> = [
      ['post', '/api/v1/policies', { name: 'n' }],
      ['get', '/api/v1/policies', undefined],
      ['get', `/api/v1/policies/${policy.id}`, undefined],
      ['put', `/api/v1/policies/${policy.id}`, { name: 'n' }],
      ['delete', `/api/v1/policies/${policy.id}`, undefined],
      ['get', `/api/v1/policies/${policy.id}/versions`, undefined],
      ['get', `/api/v1/policies/${policy.id}/versions/1`, undefined],
      ['get', `/api/v1/workspaces/${ws.body.id}/policy`, undefined],
      ['put', `/api/v1/workspaces/${ws.body.id}/policy`, { policy_ids: [] }],
      ['put', `/api/v1/agents/${agent.body.id}/policies`, { policy_ids: [] }],
    ];
    type Method = 'get' | 'post' | 'put' | 'delete';
    for (const [method, path, body] of calls) {
      const anonymous = await warden.request[method as Method](path).send(body);
      assert.equal(anonymous.status, 401, `${method} ${path}`);
      const weak = await warden.request[method as Method](path).set('X-API-Key', narrow.body.key).send(body);
      assert.equal(weak.status, 403, `${method} ${path}`);
      assert.equal(weak.body.code, 'PERMISSION_DENIED');
    }
    for (const [method, path, body] of calls.filter(([, path]) => path.includes(policy.id))) {
      const res = await warden.request[method as Method](path.replace(policy.id, 'pol_bad-id!')).set(key).send(body);
      assert.equal(res.status, 400, `${method} ${path}`);
    }
    await warden.request.get(`/api/v1/policies/${policy.id}/versions/0`).set(key).expect(400);
    await warden.request.get('/api/v1/policies?cursor=bm9wZQ').set(key).expect(400);
    await warden.request.get('/api/v1/policies?limit=201').set(key).expect(400);
    await warden.request.get('/api/v1/workspaces/ws_bad-id!/policy').set(key).expect(400);
    await warden.request.put('/api/v1/workspaces/ws_bad-id!/policy').set(key).send({ policy_ids: [] }).expect(400);
    await warden.request.put('/api/v1/agents/agt_bad-id!/policies').set(key).send({ policy_ids: [] }).expect(400);
    await warden.request.post('/api/v1/policies').set(key).set('Content-Type', 'application/json').send('{"name":').expect(400);
    await warden.request.put(`/api/v1/policies/${policy.id}`).set(key).send({ name: 'p', max_cost_per_request: 0.1234567 }).expect(422);
    await warden.request
      .put(`/api/v1/workspaces/${ws.body.id}/policy`)
      .set(key)
      .send({ policy_ids: ['x'] })
      .expect(422);
    await warden.request.put(`/api/v1/agents/${agent.body.id}/policies`).set(key).send({}).expect(422);
  });

  it('seed 001 kill switch: POST /kill-switch/{agent_id} with no body disables the agent; a reason is kept when given', async () => {
    const agent = await warden.request.post('/api/v1/agents').set(key).send({ name: 'killed-bare' }).expect(201);
    const bare = await warden.request.post(`/api/v1/kill-switch/${agent.body.id}`).set(key).expect(200);
    assert.equal(bare.body.status, 'disabled');
    assert.equal(bare.body.disabled_reason, null);
    assert.equal(bare.body.disabled_until, null);
    const event = await theAuditEventOf(warden, bare);
    assert.equal(event.action, 'agent.killed');
    const [row] = await warden.database.dataSource.query(`SELECT status FROM agents WHERE id = $1`, [agent.body.id]);
    assert.equal(row.status, 'disabled');
    const empty = await warden.request.post(`/api/v1/kill-switch/${agent.body.id}`).set(key).send({}).expect(200);
    assert.equal(empty.body.status, 'disabled');
    const reasoned = await warden.request
      .post(`/api/v1/kill-switch/${agent.body.id}`)
      .set(key)
      .send({ reason: 'Runaway spend' })
      .expect(200);
    assert.equal(reasoned.body.disabled_reason, 'Runaway spend');
    await warden.request.post(`/api/v1/kill-switch/${agent.body.id}`).set(key).send({ reason: '' }).expect(422);
  });
});
