import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowSubject } from '../src/modules/workflows';
import { createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

const PRODUCTION_PATCHES = {
  name: 'production patches',
  description: 'Two security approvers for any change in production',
  match: { environment_names: ['production'], kinds: ['patch'] },
  required_approvals: 2,
  approver_roles: ['security'],
  priority: 100,
};

const subject = (overrides: Partial<WorkflowSubject> = {}): WorkflowSubject => ({
  projectId: 'ws_payments',
  environmentId: 'env_production',
  environmentName: 'production',
  environmentVerified: true,
  kind: 'patch',
  labels: {},
  ...overrides,
});

describe('workflows: CRUD with immutable versions, validation, and judge() (seed 002)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  let otherKey: { 'X-API-Key': string };
  let viewer: { Authorization: string };

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise', 'Workflow org');
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
    otherKey = { 'X-API-Key': other.key };
    const v = await createUserAndLogin(warden, org, 'viewer@workflows.example', 'viewer');
    viewer = { Authorization: `Bearer ${v.token}` };
    // `security` is a custom role of this org only.
    await warden.request
      .post('/api/v1/roles')
      .set(key)
      .send({ name: 'security', permissions: ['request.approve', 'request.read'] })
      .expect(201);
  });
  after(() => warden.close());

  const create = (body: Record<string, unknown>, credential: Record<string, string> = key) =>
    warden.request.post('/api/v1/workflows').set(credential).send(body);

  it('POST /workflows makes version 1 with every match criterion spelled out; audited; GET and list show it', async () => {
    const res = await create(PRODUCTION_PATCHES).expect(201);
    assert.match(res.body.id, /^wf_[0-9a-z]{26}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, created_at: undefined, updated_at: undefined },
      {
        id: undefined,
        org_id: org.id,
        name: 'production patches',
        description: 'Two security approvers for any change in production',
        match: { project_ids: [], environment_ids: [], environment_names: ['production'], kinds: ['patch'], labels: {} },
        required_approvals: 2,
        approver_roles: ['security'],
        auto_approve: false,
        priority: 100,
        version: 1,
        created_at: undefined,
        updated_at: undefined,
      },
    );
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'workflow.created');
    assert.equal(event.resource_id, res.body.id);

    assert.deepEqual((await warden.request.get(`/api/v1/workflows/${res.body.id}`).set(viewer).expect(200)).body, res.body);
    const list = await warden.request.get('/api/v1/workflows').set(viewer).expect(200);
    assert.ok(list.body.workflows.some((w: { id: string }) => w.id === res.body.id));
    await warden.request.delete(`/api/v1/workflows/${res.body.id}`).set(key).expect(204);
  });

  it('approvals: auto_approve and zero approvals kept in step, contradictions 422 WORKFLOW_INVALID, default one approval', async () => {
    const auto = await create({ name: 'dev reads', auto_approve: true, match: { kinds: ['read'] } }).expect(201);
    assert.deepEqual([auto.body.required_approvals, auto.body.auto_approve], [0, true]);
    const zero = await create({ name: 'zero', required_approvals: 0 }).expect(201);
    assert.deepEqual([zero.body.required_approvals, zero.body.auto_approve], [0, true]);
    const plain = await create({ name: 'plain' }).expect(201);
    assert.deepEqual([plain.body.required_approvals, plain.body.auto_approve, plain.body.approver_roles], [1, false, []]);
    const both = await create({ name: 'both', auto_approve: true, required_approvals: 2 }).expect(422);
    assert.equal(both.body.code, 'WORKFLOW_INVALID');
    const neither = await create({ name: 'neither', auto_approve: false, required_approvals: 0 }).expect(422);
    assert.equal(neither.body.code, 'WORKFLOW_INVALID');
    await create({ name: 'too many', required_approvals: 11 }).expect(422);
    await create({ name: 'negative', required_approvals: -1 }).expect(422);
    await create({ name: 'extra', unknown_field: true }).expect(422);
    await create({ name: 'bad kind', match: { kinds: ['delete'] } }).expect(422);
    await create({ name: 'bad match', match: { cluster: 'x' } }).expect(422);
    await create({ description: 'no name' }).expect(422);
    await warden.request.post('/api/v1/workflows').set(key).set('Content-Type', 'application/json').send('{"name":').expect(400);
    for (const id of [auto.body.id, zero.body.id, plain.body.id])
      await warden.request.delete(`/api/v1/workflows/${id}`).set(key).expect(204);
  });

  it("approver_roles must be the org's roles, built-in or custom (422 UNKNOWN_ROLE names each)", async () => {
    const builtIn = await create({ name: 'admins', approver_roles: ['admin', 'owner'] }).expect(201);
    assert.deepEqual(builtIn.body.approver_roles, ['admin', 'owner']);
    const res = await create({ name: 'ghosts', approver_roles: ['security', 'ghost', 'phantom'] }).expect(422);
    assert.equal(res.body.code, 'UNKNOWN_ROLE');
    assert.deepEqual(
      res.body.details.map((d: { field: string }) => d.field),
      ['approver_roles/1', 'approver_roles/2'],
    );
    // Another org's custom role is not this org's.
    const foreign = await create({ name: 'foreign', approver_roles: ['security'] }, otherKey).expect(422);
    assert.equal(foreign.body.code, 'UNKNOWN_ROLE');
    await create({ name: 'not a role name', approver_roles: ['Security Team'] }).expect(422);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM workflows WHERE name IN ('ghosts', 'foreign')`);
    assert.equal(n, 0);
    await warden.request.delete(`/api/v1/workflows/${builtIn.body.id}`).set(key).expect(204);
  });

  it('PUT replaces the workflow as its next version; earlier versions stay readable with ?version', async () => {
    const v1 = await create({ ...PRODUCTION_PATCHES, name: 'versioned' }).expect(201);
    const base = `/api/v1/workflows/${v1.body.id}`;
    const v2 = await warden.request
      .put(base)
      .set(key)
      .send({ name: 'versioned', match: { environment_names: ['production'] }, required_approvals: 3 })
      .expect(200);
    assert.equal(v2.body.version, 2);
    assert.equal(v2.body.created_at, v1.body.created_at);
    assert.ok(v2.body.updated_at >= v1.body.updated_at);
    assert.deepEqual(
      [v2.body.required_approvals, v2.body.approver_roles, v2.body.priority, v2.body.description],
      [3, [], 0, ''],
      'omitted fields take their defaults',
    );
    const event = await theAuditEventOf(warden, v2);
    assert.equal(event.action, 'workflow.updated');
    assert.equal((event.details.before as { version: number }).version, 1);
    assert.equal((event.details.after as { version: number }).version, 2);

    assert.deepEqual((await warden.request.get(`${base}?version=1`).set(key).expect(200)).body, v1.body);
    assert.deepEqual((await warden.request.get(`${base}?version=2`).set(key).expect(200)).body, v2.body);
    assert.deepEqual((await warden.request.get(base).set(key).expect(200)).body, v2.body);
    const missing = await warden.request.get(`${base}?version=9`).set(key).expect(404);
    assert.equal(missing.body.code, 'WORKFLOW_VERSION_NOT_FOUND');
    await warden.request.get(`${base}?version=0`).set(key).expect(400);
    const rows = await warden.database.dataSource.query(
      `SELECT version, required_approvals FROM workflow_versions WHERE workflow_id = $1 ORDER BY version`,
      [v1.body.id],
    );
    assert.deepEqual(rows, [
      { version: 1, required_approvals: 2 },
      { version: 2, required_approvals: 3 },
    ]);

    // Concurrent replacements take turns on the workflow's row: each becomes its own version, none is lost.
    const racing = await Promise.all(
      [4, 5].map((n) => warden.request.put(base).set(key).send({ name: 'versioned', required_approvals: n })),
    );
    assert.deepEqual(
      racing.map((res) => res.status),
      [200, 200],
    );
    assert.deepEqual(racing.map((res) => res.body.version).sort(), [3, 4]);
    const [{ latest }] = await warden.database.dataSource.query(
      `SELECT array_agg(required_approvals ORDER BY version) AS latest FROM workflow_versions WHERE workflow_id = $1 AND version > 2`,
      [v1.body.id],
    );
    assert.deepEqual([...latest].sort(), [4, 5]);

    await warden.request
      .put(base)
      .set(key)
      .send({ name: 'versioned', approver_roles: ['ghost'] })
      .expect(422);
    const contradiction = await warden.request.put(base).set(key).send({ name: 'versioned', auto_approve: true, required_approvals: 1 });
    assert.equal(contradiction.status, 422);
    await warden.request.put('/api/v1/workflows/wf_nosuch').set(key).send({ name: 'x' }).expect(404);
    await warden.request.put('/api/v1/workflows/nope').set(key).send({ name: 'x' }).expect(400);
    await warden.request.put(base).set(key).set('Content-Type', 'application/json').send('{').expect(400);
    await warden.request.delete(base).set(key).expect(204);
  });

  it('names are unique among live workflows (409 WORKFLOW_NAME_TAKEN), free again once deleted', async () => {
    const first = await create({ name: 'Unique' }).expect(201);
    const dup = await create({ name: 'UNIQUE' }).expect(409);
    assert.equal(dup.body.code, 'WORKFLOW_NAME_TAKEN');
    const second = await create({ name: 'second' }).expect(201);
    const renamed = await warden.request.put(`/api/v1/workflows/${second.body.id}`).set(key).send({ name: 'unique' }).expect(409);
    assert.equal(renamed.body.code, 'WORKFLOW_NAME_TAKEN');
    await warden.request.delete(`/api/v1/workflows/${first.body.id}`).set(key).expect(204);
    await warden.request.put(`/api/v1/workflows/${second.body.id}`).set(key).send({ name: 'unique' }).expect(200);
    await warden.request.delete(`/api/v1/workflows/${second.body.id}`).set(key).expect(204);
  });

  it('DELETE stops a workflow judging at once; its versions stay readable; a second DELETE is 404', async () => {
    const res = await create({ name: 'short-lived', auto_approve: true, match: { kinds: ['read'] } }).expect(201);
    assert.equal((await warden.services.workflows.judge(org.id, subject({ kind: 'read' }))).workflowId, res.body.id);

    const deleted = await warden.request.delete(`/api/v1/workflows/${res.body.id}`).set(key).expect(204);
    const event = await theAuditEventOf(warden, deleted);
    assert.equal(event.action, 'workflow.deleted');
    assert.equal((event.details.before as { name: string }).name, 'short-lived');

    assert.equal((await warden.services.workflows.judge(org.id, subject({ kind: 'read' }))).workflowId, null);
    const gone = await warden.request.get(`/api/v1/workflows/${res.body.id}`).set(key).expect(404);
    assert.equal(gone.body.code, 'WORKFLOW_NOT_FOUND');
    assert.equal((await warden.request.get(`/api/v1/workflows/${res.body.id}?version=1`).set(key).expect(200)).body.name, 'short-lived');
    await warden.request.delete(`/api/v1/workflows/${res.body.id}`).set(key).expect(404);
    await warden.request.delete('/api/v1/workflows/nope').set(key).expect(400);
    const list = await warden.request.get('/api/v1/workflows').set(key).expect(200);
    assert.ok(!list.body.workflows.some((w: { id: string }) => w.id === res.body.id));
  });

  it("permissions and tenants: viewers read, only workflow.edit changes; another org's workflow is 404 everywhere", async () => {
    const mine = await create({ name: 'guarded' }).expect(201);
    const base = `/api/v1/workflows/${mine.body.id}`;
    for (const denied of [
      await create({ name: 'by viewer' }, viewer),
      await warden.request.put(base).set(viewer).send({ name: 'by viewer' }),
      await warden.request.delete(base).set(viewer),
    ]) {
      assert.equal(denied.status, 403);
      assert.match(denied.body.message, /'workflow\.edit'/);
    }
    const noRead = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'nr', permissions: ['agent.read'] })
      .expect(201);
    const blind = { 'X-API-Key': noRead.body.key };
    assert.match((await warden.request.get('/api/v1/workflows').set(blind).expect(403)).body.message, /'workflow\.read'/);
    await warden.request.get(base).set(blind).expect(403);
    await warden.request.get('/api/v1/workflows').expect(401);
    await warden.request.get(base).expect(401);
    await warden.request.post('/api/v1/workflows').send({ name: 'anonymous' }).expect(401);
    await warden.request.put(base).send({ name: 'anonymous' }).expect(401);
    await warden.request.delete(base).expect(401);

    for (const res of [
      await warden.request.get(base).set(otherKey),
      await warden.request.get(`${base}?version=1`).set(otherKey),
      await warden.request.put(base).set(otherKey).send({ name: 'hijacked' }),
      await warden.request.delete(base).set(otherKey),
    ]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'WORKFLOW_NOT_FOUND');
    }
    const theirs = await warden.request.get('/api/v1/workflows').set(otherKey).expect(200);
    assert.ok(!theirs.body.workflows.some((w: { id: string }) => w.id === mine.body.id));
    assert.equal((await warden.request.get(base).set(key).expect(200)).body.name, 'guarded');
    await warden.request.get('/api/v1/workflows?cursor=bm9wZQ').set(key).expect(400);
    await warden.request.delete(base).set(key).expect(204);
  });

  it('workflows are owner-governed: an admin (login or key) is 403 on create, update and delete; an owner is not', async () => {
    const admin = await createUserAndLogin(warden, org, 'admin@workflows.example', 'admin');
    const owner = await createUserAndLogin(warden, org, 'owner@workflows.example', 'owner');
    const asAdmin = { Authorization: `Bearer ${admin.token}` };
    const asOwner = { Authorization: `Bearer ${owner.token}` };
    const me = await warden.request.get('/api/v1/me').set(asAdmin).expect(200);
    assert.ok(!me.body.permissions.includes('workflow.edit'), 'the built-in admin role lacks workflow.edit');
    assert.ok(me.body.permissions.includes('workflow.read'));
    // Nor can an admin hand workflow.edit to a key of their own.
    const keyAttempt = await warden.request
      .post('/api/v1/api-keys')
      .set(asAdmin)
      .send({ name: 'wf', permissions: ['workflow.read', 'workflow.edit'] })
      .expect(403);
    assert.equal(keyAttempt.body.code, 'PRIVILEGE_ESCALATION');
    const adminKey = await warden.request
      .post('/api/v1/api-keys')
      .set(asAdmin)
      .send({ name: 'wf', permissions: ['workflow.read'] })
      .expect(201);

    const made = await create({ name: 'owned', required_approvals: 2 }, asOwner).expect(201);
    const base = `/api/v1/workflows/${made.body.id}`;
    const rubberStamp = { name: 'rubber stamp', auto_approve: true, priority: 1000 };
    for (const credential of [asAdmin, { 'X-API-Key': adminKey.body.key as string }]) {
      for (const denied of [
        await create(rubberStamp, credential),
        await warden.request.put(base).set(credential).send(rubberStamp),
        await warden.request.delete(base).set(credential),
      ]) {
        assert.equal(denied.status, 403);
        assert.equal(denied.body.code, 'PERMISSION_DENIED');
        assert.match(denied.body.message, /'workflow\.edit'/);
      }
    }
    const list = await warden.request.get('/api/v1/workflows').set(asAdmin).expect(200);
    assert.ok(!list.body.workflows.some((w: { name: string }) => w.name === 'rubber stamp'), 'nothing was written');
    const kept = await warden.request.get(base).set(asAdmin).expect(200);
    assert.deepEqual([kept.body.version, kept.body.required_approvals, kept.body.auto_approve], [1, 2, false]);

    const updated = await warden.request.put(base).set(asOwner).send({ name: 'owned', required_approvals: 1 }).expect(200);
    assert.equal(updated.body.version, 2);
    await warden.request.delete(base).set(asOwner).expect(204);
  });

  it('GET /workflows pages newest first with a cursor', async () => {
    const fresh = await createOrg(warden, 'enterprise', 'Paging org');
    const freshKey = { 'X-API-Key': fresh.key };
    const ids: string[] = [];
    for (const name of ['w1', 'w2', 'w3']) ids.push((await create({ name }, freshKey).expect(201)).body.id);
    const first = await warden.request.get('/api/v1/workflows?limit=2').set(freshKey).expect(200);
    const rest = await warden.request.get(`/api/v1/workflows?limit=2&cursor=${first.body.next_cursor}`).set(freshKey).expect(200);
    assert.deepEqual(
      [...first.body.workflows, ...rest.body.workflows].map((w: { id: string }) => w.id),
      [...ids].reverse(),
    );
    assert.deepEqual([first.body.has_more, rest.body.has_more, rest.body.next_cursor], [true, false, null]);
  });

  it('judge(): highest priority match wins, ties go to the oldest, labels and projects narrow, no match needs one approval', async () => {
    const judgeOrg = await createOrg(warden, 'enterprise', 'Judging org');
    const judgeKey = { 'X-API-Key': judgeOrg.key };
    const judge = (overrides: Partial<WorkflowSubject> = {}) => warden.services.workflows.judge(judgeOrg.id, subject(overrides));

    assert.deepEqual(await judge(), {
      workflowId: null,
      workflowVersion: null,
      requiredApprovals: 1,
      approverRoles: [],
      autoApprove: false,
    });

    await warden.request
      .post('/api/v1/roles')
      .set(judgeKey)
      .send({ name: 'security', permissions: ['request.approve'] })
      .expect(201);
    const patches = await create(PRODUCTION_PATCHES, judgeKey).expect(201);
    const devReads = await create(
      { name: 'dev reads', auto_approve: true, match: { environment_names: ['dev', 'staging'], kinds: ['read'] } },
      judgeKey,
    ).expect(201);
    const pci = await create(
      { name: 'pci', required_approvals: 3, approver_roles: ['admin'], match: { labels: { compliance: 'pci' } }, priority: 500 },
      judgeKey,
    ).expect(201);
    const anyProduction = await create(
      { name: 'any production', match: { environment_names: ['production'] }, priority: 100 },
      judgeKey,
    ).expect(201);

    assert.deepEqual(await judge(), {
      workflowId: patches.body.id,
      workflowVersion: 1,
      requiredApprovals: 2,
      approverRoles: ['security'],
      autoApprove: false,
    });
    assert.equal((await judge({ environmentName: 'PRODUCTION' })).workflowId, patches.body.id, 'environment names ignore case');
    // A production patch fits both priority-100 workflows and the older wins; a read fits only "any production".
    assert.equal((await judge({ kind: 'read' })).workflowId, anyProduction.body.id);
    assert.deepEqual(await judge({ environmentName: 'staging', environmentId: 'env_staging', kind: 'read' }), {
      workflowId: devReads.body.id,
      workflowVersion: 1,
      requiredApprovals: 0,
      approverRoles: [],
      autoApprove: true,
    });
    assert.equal((await judge({ environmentName: 'staging', kind: 'patch' })).workflowId, null);
    // Labels: all given must be carried with the same value; priority 500 beats 100.
    assert.equal((await judge({ labels: { compliance: 'pci', team: 'payments' } })).workflowId, pci.body.id);
    assert.equal((await judge({ labels: { compliance: 'sox' } })).workflowId, patches.body.id);

    // A new version is what judges, and the judgement names it.
    await warden.request
      .put(`/api/v1/workflows/${patches.body.id}`)
      .set(judgeKey)
      .send({ ...PRODUCTION_PATCHES, match: { ...PRODUCTION_PATCHES.match, project_ids: ['ws_payments'] }, priority: 200 })
      .expect(200);
    assert.deepEqual(await judge(), {
      workflowId: patches.body.id,
      workflowVersion: 2,
      requiredApprovals: 2,
      approverRoles: ['security'],
      autoApprove: false,
    });
    assert.equal((await judge({ projectId: 'ws_ledger' })).workflowId, anyProduction.body.id, 'project_ids narrow the match');
    const byEnvironment = await create({ name: 'one env', match: { environment_ids: ['env_special'] }, priority: 1000 }, judgeKey).expect(
      201,
    );
    assert.equal((await judge({ environmentId: 'env_special' })).workflowId, byEnvironment.body.id);
    // An environment the secret does not vouch for matches no environment criterion: only pci's labels could.
    assert.equal((await judge({ environmentId: 'env_special', environmentVerified: false })).workflowId, null);

    // Another org's workflows never judge this org's requests.
    assert.equal((await warden.services.workflows.judge(other.id, subject())).workflowId, null);
  });
});
