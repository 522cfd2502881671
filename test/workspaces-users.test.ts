import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg, createUserAndLogin, PASSWORD, rowCounts, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('workspaces, members and users (seeds 000, 001, 002)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise');
    key = { 'X-API-Key': org.key };
  });
  after(() => warden.close());

  it('workspace CRUD with the seed-000 bodies', async () => {
    const base = `/api/v1/orgs/${org.id}/workspaces`;
    const created = await warden.request.post(base).set(key).send({ name: 'Production', description: 'Production workspace' }).expect(201);
    assert.match(created.body.id, /^ws_[0-9a-z]{26}$/);
    assert.equal(created.body.org_id, org.id);
    const got = await warden.request.get(`${base}/${created.body.id}`).set(key).expect(200);
    assert.deepEqual(got.body, created.body);
    const updated = await warden.request
      .put(`${base}/${created.body.id}`)
      .set(key)
      .send({ name: 'Production (Updated)', description: 'Updated production workspace' })
      .expect(200);
    assert.equal(updated.body.name, 'Production (Updated)');
    assert.ok(updated.body.updated_at >= created.body.updated_at);
    const kept = await warden.request.put(`${base}/${created.body.id}`).set(key).send({ name: 'Production' }).expect(200);
    assert.equal(kept.body.description, 'Updated production workspace');

    const dup = await warden.request.post(base).set(key).send({ name: 'PRODUCTION' }).expect(409);
    assert.equal(dup.body.code, 'WORKSPACE_NAME_TAKEN');
    const other = await warden.request.post(base).set(key).send({ name: 'Staging' }).expect(201);
    await warden.request.put(`${base}/${other.body.id}`).set(key).send({ name: 'production' }).expect(409);

    await warden.request.delete(`${base}/${other.body.id}`).set(key).expect(204);
    await warden.request.get(`${base}/${other.body.id}`).set(key).expect(404);
    await warden.request.delete(`${base}/${other.body.id}`).set(key).expect(404);
    await warden.request.put(`${base}/ws_nosuch`).set(key).send({ name: 'x' }).expect(404);
    await warden.request.get(`${base}/not-a-workspace-id`).set(key).expect(400);
    await warden.request
      .post(base)
      .set(key)
      .send({ name: 'x'.repeat(101) })
      .expect(422);
  });

  it('lists page newest first with a cursor; a forged cursor is 400', async () => {
    const base = `/api/v1/orgs/${org.id}/workspaces`;
    for (const name of ['p1', 'p2', 'p3', 'p4']) await warden.request.post(base).set(key).send({ name }).expect(201);
    const all = await warden.request.get(`${base}?limit=200`).set(key).expect(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { workspaces: Array<{ id: string }>; next_cursor: string | null; has_more: boolean } } = await warden.request
        .get(`${base}?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(key)
        .expect(200);
      assert.ok(res.body.workspaces.length <= 2);
      seen.push(...res.body.workspaces.map((w) => w.id));
      cursor = res.body.next_cursor;
      assert.equal(res.body.has_more, cursor !== null);
    } while (cursor);
    assert.deepEqual(
      seen,
      all.body.workspaces.map((w: { id: string }) => w.id),
    );
    assert.deepEqual(seen, [...seen].sort().reverse());
    const bad = await warden.request.get(`${base}?cursor=bm90LWFuLWlk!!`).set(key).expect(400);
    assert.equal(bad.body.code, 'INVALID_CURSOR');
    await warden.request.get(`${base}?limit=0`).set(key).expect(400);
  });

  it('members: add with a workspace role, change it, list, remove; only users of the org', async () => {
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Team' }).expect(201);
    const members = `/api/v1/orgs/${org.id}/workspaces/${ws.body.id}/members`;
    const bob = await createUserAndLogin(warden, org, 'bob@example.com', 'member');
    const added = await warden.request.put(`${members}/${bob.id}`).set(key).send({ role: 'viewer' }).expect(200);
    assert.deepEqual(
      { ...added.body, added_at: undefined },
      { user_id: bob.id, email: 'bob@example.com', role: 'viewer', added_at: undefined },
    );
    await warden.request.put(`${members}/${bob.id}`).set(key).send({ role: 'admin' }).expect(200);
    const list = await warden.request.get(members).set(key).expect(200);
    assert.deepEqual(
      list.body.members.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      [[bob.id, 'admin']],
    );
    await warden.request.put(`${members}/${bob.id}`).set(key).send({ role: 'owner' }).expect(422);
    await warden.request.put(`${members}/usr_nosuch`).set(key).send({ role: 'member' }).expect(404);
    await warden.request.delete(`${members}/${bob.id}`).set(key).expect(204);
    await warden.request.delete(`${members}/${bob.id}`).set(key).expect(404);
    await warden.request.get(`/api/v1/orgs/${org.id}/workspaces/ws_nosuch/members`).set(key).expect(404);

    // A user who creates a workspace becomes its admin member.
    const mine = await warden.request
      .post(`/api/v1/orgs/${org.id}/workspaces`)
      .set('Authorization', `Bearer ${bob.token}`)
      .send({ name: 'Bob space' })
      .expect(201);
    const mineMembers = await warden.request.get(`/api/v1/orgs/${org.id}/workspaces/${mine.body.id}/members`).set(key).expect(200);
    assert.deepEqual(
      mineMembers.body.members.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      [[bob.id, 'admin']],
    );
  });

  it('the free plan allows one workspace: the second is 402 with current_usage', async () => {
    const free = await createOrg(warden, 'free', 'Free');
    const base = `/api/v1/orgs/${free.id}/workspaces`;
    await warden.request.post(base).set('X-API-Key', free.key).send({ name: 'only' }).expect(201);
    const res = await warden.request.post(base).set('X-API-Key', free.key).send({ name: 'second' }).expect(402);
    assert.equal(res.body.code, 'WORKSPACES_LIMIT_REACHED');
    assert.deepEqual(res.body.current_usage, { current: 1, max: 1 });
  });

  it('users: create (member by default, password never returned), list, email unique across orgs, login works', async () => {
    const created = await warden.request
      .post('/api/v1/users')
      .set(key)
      .send({ email: 'Carol@Example.com', password: PASSWORD })
      .expect(201);
    assert.equal(created.body.role, 'member');
    assert.equal(created.body.email_verified, false);
    assert.equal(created.body.password, undefined);
    assert.equal(created.body.password_hash, undefined);
    const [row] = await warden.database.dataSource.query(`SELECT password_hash FROM users WHERE id = $1`, [created.body.id]);
    assert.match(row.password_hash, /^scrypt\$16384\$8\$5\$/);

    const before = await rowCounts(warden, ['users']);
    const dup = await warden.request.post('/api/v1/users').set(key).send({ email: 'carol@example.com', password: PASSWORD }).expect(409);
    assert.equal(dup.body.code, 'EMAIL_TAKEN');
    const other = await createOrg(warden, 'enterprise', 'Other');
    await warden.request
      .post('/api/v1/users')
      .set('X-API-Key', other.key)
      .send({ email: 'CAROL@example.com', password: PASSWORD })
      .expect(409);
    await warden.request.post('/api/v1/users').set(key).send({ email: 'short@example.com', password: 'short' }).expect(422);
    assert.deepEqual(await rowCounts(warden, ['users']), before);

    const list = await warden.request.get('/api/v1/users?limit=1').set(key).expect(200);
    assert.equal(list.body.users.length, 1);
    assert.equal(list.body.has_more, true);
    await warden.request.get(`/api/v1/users?org_id=${org.id}`).set(key).expect(200);
    await warden.request.post('/api/v1/auth/login').send({ email: 'carol@example.com', password: PASSWORD }).expect(200);
  });

  it('the free plan allows 3 users: the 4th is 402 with current_usage, and is not created', async () => {
    const free = await createOrg(warden, 'free', 'Free users');
    for (const name of ['u1', 'u2', 'u3']) {
      await warden.request
        .post('/api/v1/users')
        .set('X-API-Key', free.key)
        .send({ email: `${name}@free.example.com`, password: PASSWORD })
        .expect(201);
    }
    const res = await warden.request
      .post('/api/v1/users')
      .set('X-API-Key', free.key)
      .send({ email: 'u4@free.example.com', password: PASSWORD })
      .expect(402);
    assert.equal(res.body.code, 'USERS_LIMIT_REACHED');
    assert.deepEqual(res.body.current_usage, { current: 3, max: 3 });
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE email = 'u4@free.example.com'`);
    assert.equal(n, 0);
  });

  it('environments (seed 002): create, list, delete; names unique per workspace; admins may, members and viewers may not', async () => {
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'With environments' }).expect(201);
    const base = `/api/v1/workspaces/${ws.body.id}/environments`;
    const staging = await warden.request.post(base).set(key).send({ name: 'staging' }).expect(201);
    assert.match(staging.body.id, /^env_[0-9a-z]{26}$/);
    assert.equal(staging.body.workspace_id, ws.body.id);
    await warden.request.post(base).set(key).send({ name: 'production' }).expect(201);
    const dup = await warden.request.post(base).set(key).send({ name: 'STAGING' }).expect(409);
    assert.equal(dup.body.code, 'ENVIRONMENT_NAME_TAKEN');
    await warden.request.post(base).set(key).send({ name: 'has spaces' }).expect(422);
    const list = await warden.request.get(`${base}?limit=1`).set(key).expect(200);
    assert.deepEqual(
      list.body.environments.map((e: { name: string }) => e.name),
      ['staging'],
    );
    const rest = await warden.request.get(`${base}?cursor=${list.body.next_cursor}`).set(key).expect(200);
    assert.deepEqual(
      rest.body.environments.map((e: { name: string }) => e.name),
      ['production'],
    );

    const member = await createUserAndLogin(warden, org, 'env-member@example.com', 'member');
    // Members do not hold environment.edit: a made-up environment could otherwise steer a workflow's match.
    const refused = await warden.request.post(base).set('Authorization', `Bearer ${member.token}`).send({ name: 'dev' }).expect(403);
    assert.match(refused.body.message, /'environment\.edit'/);
    const viewer = await createUserAndLogin(warden, org, 'env-viewer@example.com', 'viewer');
    const denied = await warden.request.post(base).set('Authorization', `Bearer ${viewer.token}`).send({ name: 'qa' }).expect(403);
    assert.match(denied.body.message, /'environment\.edit'/);

    await warden.request.delete(`${base}/${staging.body.id}`).set(key).expect(204);
    await warden.request.delete(`${base}/${staging.body.id}`).set(key).expect(404);
    await warden.request.get('/api/v1/workspaces/ws_nosuch/environments').set(key).expect(404);
    // Deleting the workspace takes its environments with it.
    await warden.request.delete(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}`).set(key).expect(204);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM environments WHERE workspace_id = $1`, [
      ws.body.id,
    ]);
    assert.equal(n, 0);
  });

  it('DELETE /users/{id}: the user, their sessions and keys stop at once; owners only by owners; never the last owner', async () => {
    const fresh = await createOrg(warden, 'enterprise', 'Deletion org');
    const owner = await createUserAndLogin(warden, fresh, 'owner@deletion.example', 'owner');
    const admin = await createUserAndLogin(warden, fresh, 'admin@deletion.example', 'admin');
    const asOwner = { Authorization: `Bearer ${owner.token}` };
    const asAdmin = { Authorization: `Bearer ${admin.token}` };
    const adminKey = await warden.request
      .post('/api/v1/api-keys')
      .set(asAdmin)
      .send({ name: 'admin tooling', permissions: ['user.read'] })
      .expect(201);

    const notOwner = await warden.request.delete(`/api/v1/users/${owner.id}`).set(asAdmin).expect(403);
    assert.equal(notOwner.body.code, 'PRIVILEGE_ESCALATION');
    assert.match(notOwner.body.message, /owner\.grant/);

    // With the first-start key revoked, the owner user is the last owner.
    await warden.request.delete(`/api/v1/api-keys/${fresh.keyId}`).set(asOwner).expect(200);
    const last = await warden.request.delete(`/api/v1/users/${owner.id}`).set(asOwner).expect(409);
    assert.equal(last.body.code, 'LAST_OWNER');
    await warden.request.get('/api/v1/auth/me').set(asOwner).expect(200);

    await warden.request.delete(`/api/v1/users/${admin.id}`).set(asOwner).expect(204);
    for (const credential of [asAdmin, { 'X-API-Key': adminKey.body.key }]) {
      await warden.request.get('/api/v1/auth/me').set(credential).expect(401);
    }
    await warden.request.post('/api/v1/auth/login').send({ email: 'admin@deletion.example', password: PASSWORD }).expect(401);
    const keys = await warden.request.get('/api/v1/api-keys').set(asOwner).expect(200);
    assert.ok(keys.body.api_keys.find((k: { id: string }) => k.id === adminKey.body.id).revoked_at);
    const [event] = await warden.auditRows(`SELECT resource_id, details FROM audit_events WHERE org_id = $1 AND action = 'user.deleted'`, [
      fresh.id,
    ]);
    assert.equal(event.resource_id, admin.id);
    assert.equal(event.details.before.email, 'admin@deletion.example');

    await warden.request.delete(`/api/v1/users/${admin.id}`).set(asOwner).expect(404);
    await warden.request.delete(`/api/v1/users/${owner.id}`).set(key).expect(404); // another org's user
    await warden.request.delete('/api/v1/users/not-a-user-id').set(asOwner).expect(400);
    await warden.request.delete(`/api/v1/users/${owner.id}`).expect(401);
  });

  it('GET /orgs lists only the caller org', async () => {
    const res = await warden.request.get('/api/v1/orgs').set(key).expect(200);
    assert.deepEqual(
      res.body.orgs.map((o: { id: string }) => o.id),
      [org.id],
    );
  });
});
