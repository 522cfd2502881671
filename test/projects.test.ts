import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/** What a service face throws: an ApiError with its status and code. */
const refusal = (status: number, code: string) => (error: unknown) => {
  const { status: actual, code: actualCode } = error as { status: number; code: string };
  assert.deepEqual({ status: actual, code: actualCode }, { status, code });
  return true;
};

describe('projects and environments at seed 002 paths: the same workspaces, the same service', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  let otherKey: { 'X-API-Key': string };
  let viewer: { Authorization: string };
  let member: { Authorization: string; id: string };

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise', 'Projects org');
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
    otherKey = { 'X-API-Key': other.key };
    const v = await createUserAndLogin(warden, org, 'viewer@projects.example', 'viewer');
    viewer = { Authorization: `Bearer ${v.token}` };
    const m = await createUserAndLogin(warden, org, 'member@projects.example', 'member');
    member = { Authorization: `Bearer ${m.token}`, id: m.id };
  });
  after(() => warden.close());

  const createProject = (name: string, credential: Record<string, string> = key) =>
    warden.request
      .post('/api/v1/projects')
      .set(credential)
      .send({ name, description: `${name} project` });

  it('POST /projects makes a workspace: same id and row at both path families, creator as admin, audited', async () => {
    const res = await createProject('payments', { Authorization: member.Authorization }).expect(201);
    assert.match(res.body.id, /^ws_[0-9a-z]{26}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, created_at: undefined, updated_at: undefined },
      {
        id: undefined,
        org_id: org.id,
        name: 'payments',
        description: 'payments project',
        status: 'active',
        archived_at: null,
        created_at: undefined,
        updated_at: undefined,
      },
    );
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'workspace.created');
    assert.equal(event.resource_id, res.body.id);

    const asWorkspace = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces/${res.body.id}`).set(key).expect(200);
    assert.deepEqual(asWorkspace.body, res.body);
    const asProject = await warden.request.get(`/api/v1/projects/${res.body.id}`).set(viewer).expect(200);
    assert.deepEqual(asProject.body, res.body);
    const members = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces/${res.body.id}/members`).set(key).expect(200);
    assert.deepEqual(
      members.body.members.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      [[member.id, 'admin']],
    );

    // One name space: a workspace's name is taken for projects too, case-insensitively, and the answer says "project".
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Ledger' }).expect(201);
    const dup = await createProject('LEDGER').expect(409);
    assert.equal(dup.body.code, 'PROJECT_NAME_TAKEN');
    assert.match(dup.body.message, /project named 'LEDGER'/);
    const dupWorkspace = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Payments' }).expect(409);
    assert.equal(dupWorkspace.body.code, 'WORKSPACE_NAME_TAKEN');

    await createProject('x'.repeat(101)).expect(422);
    await warden.request.post('/api/v1/projects').set(key).set('Content-Type', 'application/json').send('{"name":').expect(400);
    await warden.request.post('/api/v1/projects').set(key).send({ name: 'p', org_id: org.id }).expect(422);
    await warden.request.post('/api/v1/projects').send({ name: 'anonymous' }).expect(401);
    const denied = await createProject('viewers may not', viewer).expect(403);
    assert.match(denied.body.message, /'workspace\.edit'/);
  });

  it('POST /projects counts against the plan quota of workspaces (402)', async () => {
    const free = await createOrg(warden, 'free', 'Free org');
    await createProject('first', { 'X-API-Key': free.key }).expect(201);
    const res = await createProject('second', { 'X-API-Key': free.key }).expect(402);
    assert.equal(res.body.code, 'WORKSPACES_LIMIT_REACHED');
  });

  it("GET /projects pages newest first, filters by status, and shows only the caller's org", async () => {
    const fresh = await createOrg(warden, 'enterprise', 'Listing org');
    const freshKey = { 'X-API-Key': fresh.key };
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) ids.push((await createProject(name, freshKey).expect(201)).body.id);
    await createProject('elsewhere', otherKey).expect(201);
    await warden.request.put(`/api/v1/projects/${ids[1]}/status`).set(freshKey).send({ status: 'archived' }).expect(200);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { projects: Array<{ id: string }>; next_cursor: string | null } } = await warden.request
        .get(`/api/v1/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(freshKey)
        .expect(200);
      seen.push(...res.body.projects.map((p) => p.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());

    const active = await warden.request.get('/api/v1/projects?status=active').set(freshKey).expect(200);
    assert.deepEqual(
      active.body.projects.map((p: { id: string }) => p.id),
      [ids[2], ids[0]],
    );
    const archived = await warden.request.get('/api/v1/projects?status=archived').set(freshKey).expect(200);
    assert.deepEqual(
      archived.body.projects.map((p: { id: string; status: string }) => [p.id, p.status]),
      [[ids[1], 'archived']],
    );
    await warden.request.get('/api/v1/projects?status=deleted').set(freshKey).expect(400);
    await warden.request.get('/api/v1/projects?cursor=bm9wZQ').set(freshKey).expect(400);
    await warden.request.get('/api/v1/projects').expect(401);
    // Every member reads; a key without workspace.read does not.
    const noRead = await warden.request
      .post('/api/v1/api-keys')
      .set(freshKey)
      .send({ name: 'no read', permissions: ['agent.read'] })
      .expect(201);
    const refused = await warden.request.get('/api/v1/projects').set('X-API-Key', noRead.body.key).expect(403);
    assert.match(refused.body.message, /'workspace\.read'/);
  });

  it("GET /projects/{id}: another org's project, or none, is 404 PROJECT_NOT_FOUND; a malformed id 400", async () => {
    const mine = await createProject('mine-only').expect(201);
    const res = await warden.request.get(`/api/v1/projects/${mine.body.id}`).set(otherKey).expect(404);
    assert.equal(res.body.code, 'PROJECT_NOT_FOUND');
    assert.equal((await warden.request.get('/api/v1/projects/ws_nosuch').set(key).expect(404)).body.code, 'PROJECT_NOT_FOUND');
    await warden.request.get('/api/v1/projects/env_notaproject').set(key).expect(400);
    await warden.request.get(`/api/v1/projects/${mine.body.id}`).expect(401);
    const noRead = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'nr', permissions: ['agent.read'] })
      .expect(201);
    await warden.request.get(`/api/v1/projects/${mine.body.id}`).set('X-API-Key', noRead.body.key).expect(403);
  });

  it('PUT /projects/{id}/status archives and reactivates; archived refuses new environments (both path families) and requests', async () => {
    const project = await createProject('to-archive').expect(201);
    const production = await warden.request
      .post('/api/v1/environments')
      .set(key)
      .send({ project_id: project.body.id, name: 'production' })
      .expect(201);

    const archived = await warden.request
      .put(`/api/v1/projects/${project.body.id}/status`)
      .set(key)
      .send({ status: 'archived' })
      .expect(200);
    assert.equal(archived.body.status, 'archived');
    assert.ok(archived.body.archived_at);
    assert.ok(archived.body.updated_at >= project.body.updated_at);
    const event = await theAuditEventOf(warden, archived);
    assert.equal(event.action, 'workspace.status_set');
    assert.equal(event.resource_id, project.body.id);
    assert.deepEqual(event.details.before, { status: 'active', archived_at: null });
    assert.equal((event.details.after as { status: string }).status, 'archived');

    // Idempotent: the first archiving is kept.
    const again = await warden.request.put(`/api/v1/projects/${project.body.id}/status`).set(key).send({ status: 'archived' }).expect(200);
    assert.equal(again.body.archived_at, archived.body.archived_at);
    assert.equal(again.body.updated_at, archived.body.updated_at);

    const refused = await warden.request
      .post('/api/v1/environments')
      .set(key)
      .send({ project_id: project.body.id, name: 'staging' })
      .expect(409);
    assert.equal(refused.body.code, 'PROJECT_ARCHIVED');
    const seed000 = await warden.request.post(`/api/v1/workspaces/${project.body.id}/environments`).set(key).send({ name: 'staging' });
    assert.equal(seed000.status, 409);
    assert.equal(seed000.body.code, 'PROJECT_ARCHIVED');
    await assert.rejects(
      warden.services.workspaces.projectForRequest(org.id, project.body.id, production.body.id),
      refusal(409, 'PROJECT_ARCHIVED'),
    );
    // What it holds stays readable.
    const envs = await warden.request.get(`/api/v1/projects/${project.body.id}/environments`).set(key).expect(200);
    assert.deepEqual(
      envs.body.environments.map((e: { name: string }) => e.name),
      ['production'],
    );

    const reopened = await warden.request.put(`/api/v1/projects/${project.body.id}/status`).set(key).send({ status: 'active' }).expect(200);
    assert.deepEqual([reopened.body.status, reopened.body.archived_at], ['active', null]);
    await warden.request.post('/api/v1/environments').set(key).send({ project_id: project.body.id, name: 'staging' }).expect(201);
    assert.equal(
      (await warden.services.workspaces.projectForRequest(org.id, project.body.id, production.body.id)).environmentName,
      'production',
    );

    await warden.request.put(`/api/v1/projects/${project.body.id}/status`).set(key).send({ status: 'deleted' }).expect(422);
    await warden.request.put(`/api/v1/projects/${project.body.id}/status`).set(key).send({}).expect(422);
    const foreign = await warden.request.put(`/api/v1/projects/${project.body.id}/status`).set(otherKey).send({ status: 'archived' });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'PROJECT_NOT_FOUND');
    await warden.request.put(`/api/v1/projects/${project.body.id}/status`).send({ status: 'archived' }).expect(401);
    await warden.request.put(`/api/v1/projects/${project.body.id}/status`).set(viewer).send({ status: 'archived' }).expect(403);
    await warden.request.put('/api/v1/projects/nope/status').set(key).send({ status: 'archived' }).expect(400);
    const [row] = await warden.database.dataSource.query(`SELECT status, archived_at FROM workspaces WHERE id = $1`, [project.body.id]);
    assert.deepEqual(row, { status: 'active', archived_at: null });
  });

  it('POST /environments takes the project in the body; names unique per project; admins may, members and viewers may not', async () => {
    const project = await createProject('env-home').expect(201);
    const created = await warden.request
      .post('/api/v1/environments')
      .set(key)
      .send({ project_id: project.body.id, name: 'production' })
      .expect(201);
    assert.match(created.body.id, /^env_[0-9a-z]{26}$/);
    assert.equal(created.body.project_id, project.body.id);
    assert.equal(created.body.workspace_id, project.body.id);
    const event = await theAuditEventOf(warden, created);
    assert.equal(event.action, 'environment.created');
    assert.equal(event.resource_id, created.body.id);

    const dup = await warden.request
      .post('/api/v1/environments')
      .set(key)
      .send({ project_id: project.body.id, name: 'PRODUCTION' })
      .expect(409);
    assert.equal(dup.body.code, 'ENVIRONMENT_NAME_TAKEN');
    assert.match(dup.body.message, /project already has/);
    const foreign = await warden.request
      .post('/api/v1/environments')
      .set(otherKey)
      .send({ project_id: project.body.id, name: 'intruder' })
      .expect(404);
    assert.equal(foreign.body.code, 'PROJECT_NOT_FOUND');
    await warden.request.post('/api/v1/environments').set(key).send({ project_id: project.body.id, name: 'has spaces' }).expect(422);
    await warden.request.post('/api/v1/environments').set(key).send({ name: 'no-project' }).expect(422);
    await warden.request.post('/api/v1/environments').set(key).set('Content-Type', 'application/json').send('{"name":').expect(400);
    await warden.request.post('/api/v1/environments').send({ project_id: project.body.id, name: 'anon' }).expect(401);
    // Members do not hold environment.edit: a made-up environment could otherwise steer a workflow's match.
    const memberDenied = await warden.request
      .post('/api/v1/environments')
      .set({ Authorization: member.Authorization })
      .send({ project_id: project.body.id, name: 'dev' })
      .expect(403);
    assert.match(memberDenied.body.message, /'environment\.edit'/);
    const denied = await warden.request
      .post('/api/v1/environments')
      .set(viewer)
      .send({ project_id: project.body.id, name: 'qa' })
      .expect(403);
    assert.match(denied.body.message, /'environment\.edit'/);

    // The seed-000 path family sees the same environment.
    const seed000 = await warden.request.get(`/api/v1/workspaces/${project.body.id}/environments`).set(key).expect(200);
    assert.deepEqual(
      seed000.body.environments.map((e: { id: string }) => e.id),
      [created.body.id],
    );
  });

  it('GET /projects/{id}/environments and GET /environments (?project_id): oldest first, cursor pages, own org only', async () => {
    const fresh = await createOrg(warden, 'enterprise', 'Env listing org');
    const freshKey = { 'X-API-Key': fresh.key };
    const a = await createProject('alpha', freshKey).expect(201);
    const b = await createProject('beta', freshKey).expect(201);
    const envIds: string[] = [];
    for (const [project, name] of [
      [a, 'dev'],
      [b, 'dev'],
      [a, 'prod'],
    ] as const) {
      envIds.push(
        (await warden.request.post('/api/v1/environments').set(freshKey).send({ project_id: project.body.id, name }).expect(201)).body.id,
      );
    }
    const foreignProject = await createProject('foreign', otherKey).expect(201);
    await warden.request.post('/api/v1/environments').set(otherKey).send({ project_id: foreignProject.body.id, name: 'dev' }).expect(201);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { environments: Array<{ id: string }>; next_cursor: string | null } } = await warden.request
        .get(`/api/v1/environments?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(freshKey)
        .expect(200);
      seen.push(...res.body.environments.map((e) => e.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, envIds);

    const onlyA = await warden.request.get(`/api/v1/environments?project_id=${a.body.id}`).set(freshKey).expect(200);
    assert.deepEqual(
      onlyA.body.environments.map((e: { id: string }) => e.id),
      [envIds[0], envIds[2]],
    );
    const ofA = await warden.request.get(`/api/v1/projects/${a.body.id}/environments?limit=1`).set(freshKey).expect(200);
    assert.deepEqual([ofA.body.environments[0].id, ofA.body.has_more], [envIds[0], true]);
    const restOfA = await warden.request
      .get(`/api/v1/projects/${a.body.id}/environments?cursor=${ofA.body.next_cursor}`)
      .set(freshKey)
      .expect(200);
    assert.deepEqual(
      restOfA.body.environments.map((e: { id: string }) => e.id),
      [envIds[2]],
    );

    const foreignFilter = await warden.request.get(`/api/v1/environments?project_id=${foreignProject.body.id}`).set(freshKey).expect(404);
    assert.equal(foreignFilter.body.code, 'PROJECT_NOT_FOUND');
    const foreignList = await warden.request.get(`/api/v1/projects/${foreignProject.body.id}/environments`).set(freshKey).expect(404);
    assert.equal(foreignList.body.code, 'PROJECT_NOT_FOUND');
    await warden.request.get('/api/v1/environments?project_id=nope').set(freshKey).expect(400);
    await warden.request.get('/api/v1/projects/nope/environments').set(freshKey).expect(400);
    await warden.request.get('/api/v1/environments').expect(401);
    await warden.request.get(`/api/v1/projects/${a.body.id}/environments`).expect(401);
    const noRead = await warden.request
      .post('/api/v1/api-keys')
      .set(freshKey)
      .send({ name: 'nr', permissions: ['agent.read'] })
      .expect(201);
    await warden.request.get('/api/v1/environments').set('X-API-Key', noRead.body.key).expect(403);
    await warden.request.get(`/api/v1/projects/${a.body.id}/environments`).set('X-API-Key', noRead.body.key).expect(403);
  });

  it("DELETE /environments/{id} by id alone: audited with its before; another org's is 404", async () => {
    const project = await createProject('deletions').expect(201);
    const env = await warden.request.post('/api/v1/environments').set(key).send({ project_id: project.body.id, name: 'temp' }).expect(201);

    const foreign = await warden.request.delete(`/api/v1/environments/${env.body.id}`).set(otherKey).expect(404);
    assert.equal(foreign.body.code, 'ENVIRONMENT_NOT_FOUND');
    await warden.request.delete(`/api/v1/environments/${env.body.id}`).set(viewer).expect(403);
    await warden.request.delete(`/api/v1/environments/${env.body.id}`).expect(401);
    await warden.request.delete('/api/v1/environments/ws_notanenv').set(key).expect(400);

    const res = await warden.request.delete(`/api/v1/environments/${env.body.id}`).set(key).expect(204);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'environment.deleted');
    assert.equal(event.resource_id, env.body.id);
    assert.deepEqual(event.details.before, { name: 'temp', workspace_id: project.body.id });
    await warden.request.delete(`/api/v1/environments/${env.body.id}`).set(key).expect(404);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM environments WHERE id = $1`, [env.body.id]);
    assert.equal(n, 0);

    // The seed-000 form still checks the workspace it names.
    const kept = await warden.request.post('/api/v1/environments').set(key).send({ project_id: project.body.id, name: 'kept' }).expect(201);
    const elsewhere = await createProject('elsewhere').expect(201);
    await warden.request.delete(`/api/v1/workspaces/${elsewhere.body.id}/environments/${kept.body.id}`).set(key).expect(404);
    await warden.request.delete(`/api/v1/workspaces/${project.body.id}/environments/${kept.body.id}`).set(key).expect(204);
  });

  it('projectForRequest: names and ids of a project and its environment; 404 for another project or org', async () => {
    const project = await createProject('requests-home').expect(201);
    const sibling = await createProject('requests-sibling').expect(201);
    const env = await warden.request
      .post('/api/v1/environments')
      .set(key)
      .send({ project_id: project.body.id, name: 'production' })
      .expect(201);
    const siblingEnv = await warden.request
      .post('/api/v1/environments')
      .set(key)
      .send({ project_id: sibling.body.id, name: 'production' })
      .expect(201);

    assert.deepEqual(await warden.services.workspaces.projectForRequest(org.id, project.body.id, env.body.id), {
      projectId: project.body.id,
      projectName: 'requests-home',
      environmentId: env.body.id,
      environmentName: 'production',
    });
    await assert.rejects(
      warden.services.workspaces.projectForRequest(org.id, project.body.id, siblingEnv.body.id),
      refusal(404, 'ENVIRONMENT_NOT_FOUND'),
    );
    await assert.rejects(
      warden.services.workspaces.projectForRequest(other.id, project.body.id, env.body.id),
      refusal(404, 'PROJECT_NOT_FOUND'),
    );
    await assert.rejects(warden.services.workspaces.projectForRequest(org.id, 'ws_nosuch', env.body.id), refusal(404, 'PROJECT_NOT_FOUND'));
  });
});
