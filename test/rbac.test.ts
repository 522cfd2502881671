import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolveRef } from '../src/binding/request-schemas';
import { createOrg, createUserAndLogin, rowCounts, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('RBAC: permission catalog, roles, assignments, enforced from x-permission (seed 002)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let owner: { id: string; token: string };
  let admin: { id: string; token: string };
  let viewer: { id: string; token: string };
  const as = (who: { token: string }) => ({ Authorization: `Bearer ${who.token}` });

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'starter');
    owner = await createUserAndLogin(warden, org, 'owner@example.com', 'owner');
    admin = await createUserAndLogin(warden, org, 'admin@example.com', 'admin');
    viewer = await createUserAndLogin(warden, org, 'viewer@example.com', 'viewer');
  });
  after(() => warden.close());

  it('GET /permissions lists the catalog with descriptions, cacheable for 5 minutes', async () => {
    const res = await warden.request.get('/api/v1/permissions').set(as(viewer)).expect(200);
    assert.equal(res.headers['cache-control'], 'private, max-age=300');
    const names = res.body.permissions.map((p: { name: string }) => p.name);
    for (const name of ['workspace.read', 'api_key.edit', 'role.edit', 'user_role.edit', 'org.create'])
      assert.ok(names.includes(name), name);
    assert.ok(res.body.permissions.every((p: { description: string }) => p.description.length > 0));
    // Every x-permission of the spec is in the catalog (start-up enforces it too).
    for (const operation of warden.binding.operations) {
      if (operation.extensions.permission) assert.ok(names.includes(operation.extensions.permission), operation.operationId);
    }
  });

  it('GET /roles lists the four built-in roles; GET /roles/{id} reads one', async () => {
    const res = await warden.request.get('/api/v1/roles').set(as(viewer)).expect(200);
    assert.deepEqual(
      res.body.roles.slice(0, 4).map((r: { name: string }) => r.name),
      ['owner', 'admin', 'member', 'viewer'],
    );
    const ownerRole = await warden.request.get('/api/v1/roles/rol_owner').set(as(viewer)).expect(200);
    assert.ok(ownerRole.body.permissions.includes('owner.grant'));
    assert.equal(ownerRole.body.built_in, true);
    await warden.request.get('/api/v1/roles/rol_nosuchrole').set(as(viewer)).expect(404);
  });

  it('a viewer is refused every change with 403 naming the missing permission', async () => {
    const cases = [
      warden.request
        .post('/api/v1/roles')
        .set(as(viewer))
        .send({ name: 'x', permissions: ['workspace.read'] }),
      warden.request.post('/api/v1/user-roles').set(as(viewer)).send({ user_id: viewer.id, role_id: 'rol_admin' }),
      warden.request.post('/api/v1/users').set(as(viewer)).send({ email: 'v2@example.com', password: 'long enough password' }),
      warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(as(viewer)).send({ name: 'nope' }),
    ];
    const expected = ['role.edit', 'user_role.edit', 'user.edit', 'workspace.edit'];
    const results = await Promise.all(cases);
    results.forEach((res, i) => {
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'PERMISSION_DENIED');
      assert.equal(res.body.message, `This operation needs the '${expected[i]}' permission.`);
    });
  });

  it('custom roles: create, read, replace permissions, assign, and the holder gains exactly those permissions', async () => {
    const created = await warden.request
      .post('/api/v1/roles')
      .set(as(admin))
      .send({ name: 'deployer', description: 'Ships workspaces', permissions: ['workspace.edit'] })
      .expect(201);
    assert.match(created.body.id, /^rol_[0-9a-z]{26}$/);
    assert.equal(created.body.built_in, false);
    await warden.request.get(`/api/v1/roles/${created.body.id}`).set(as(viewer)).expect(200);

    // The viewer cannot create a workspace until the role is assigned, and can afterwards.
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(as(viewer)).send({ name: 'before' }).expect(403);
    const assigned = await warden.request
      .post('/api/v1/user-roles')
      .set(as(admin))
      .send({ user_id: viewer.id, role_id: created.body.id })
      .expect(201);
    assert.equal(assigned.body.role_name, 'deployer');
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(as(viewer)).send({ name: 'after' }).expect(201);
    const me = await warden.request.get('/api/v1/auth/me').set(as(viewer)).expect(200);
    assert.deepEqual(me.body.roles, ['viewer', 'deployer']);

    const roles = await warden.request.get(`/api/v1/users/${viewer.id}/roles`).set(as(viewer)).expect(200);
    assert.deepEqual(
      roles.body.roles.map((r: { name: string }) => r.name),
      ['viewer', 'deployer'],
    );
    const listed = await warden.request.get(`/api/v1/user-roles?user_id=${viewer.id}`).set(as(viewer)).expect(200);
    assert.deepEqual(
      listed.body.user_roles.map((r: { id: string }) => r.id),
      [assigned.body.id],
    );
    const byRole = await warden.request.get(`/api/v1/user-roles?role_id=${created.body.id}&limit=1`).set(as(viewer)).expect(200);
    assert.equal(byRole.body.user_roles.length, 1);

    // Changing the role's permissions applies on the next request.
    const replaced = await warden.request
      .put(`/api/v1/roles/${created.body.id}/permissions`)
      .set(as(admin))
      .send({ permissions: ['workspace.read'] })
      .expect(200);
    assert.deepEqual(replaced.body.permissions, ['workspace.read']);
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(as(viewer)).send({ name: 'too late' }).expect(403);

    const again = await warden.request
      .post('/api/v1/user-roles')
      .set(as(admin))
      .send({ user_id: viewer.id, role_id: created.body.id })
      .expect(409);
    assert.equal(again.body.code, 'ROLE_ALREADY_ASSIGNED');
    await warden.request.delete(`/api/v1/user-roles/${assigned.body.id}`).set(as(admin)).expect(204);
    await warden.request.delete(`/api/v1/user-roles/${assigned.body.id}`).set(as(admin)).expect(404);
  });

  it('deleting a role deletes its assignments in the same transaction', async () => {
    const role = await warden.request
      .post('/api/v1/roles')
      .set(as(admin))
      .send({ name: 'temp', permissions: ['user.read'] })
      .expect(201);
    await warden.request.post('/api/v1/user-roles').set(as(admin)).send({ user_id: viewer.id, role_id: role.body.id }).expect(201);
    await warden.request.delete(`/api/v1/roles/${role.body.id}`).set(as(admin)).expect(204);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM user_roles WHERE role_id = $1`, [role.body.id]);
    assert.equal(n, 0);
    await warden.request.delete(`/api/v1/roles/${role.body.id}`).set(as(admin)).expect(404);
  });

  it('decision and people-admin power is granted by owners only: an admin gets 403 GRANT_REQUIRES_OWNER, an owner may', async () => {
    const tables = ['roles', 'user_roles', 'users'];
    const boss = await createUserAndLogin(warden, org, 'boss@example.com', 'owner');
    const deputy = await createUserAndLogin(warden, org, 'deputy@example.com', 'member');
    await warden.request.post('/api/v1/user-roles').set(as(boss)).send({ user_id: deputy.id, role_id: 'rol_admin' }).expect(201);
    const worker = await createUserAndLogin(warden, org, 'worker@example.com', 'member');
    const before = await rowCounts(warden, tables);
    const ownerOnly = ['request.approve', 'approval.decide', 'workflow.edit', 'user.edit', 'user_role.edit', 'role.edit'];
    // The admin role lacks workflow.edit (workflows are owner-governed), so granting it is an escalation.
    const lacking = await warden.request
      .post('/api/v1/roles')
      .set(as(deputy))
      .send({ name: 'deputy-workflow-edit', permissions: ['agent.read', 'workflow.edit'] })
      .expect(403);
    assert.equal(lacking.body.code, 'PRIVILEGE_ESCALATION');
    for (const permission of ownerOnly.filter((name) => name !== 'workflow.edit')) {
      const role = await warden.request
        .post('/api/v1/roles')
        .set(as(deputy))
        .send({ name: `deputy-${permission.replace(/[._]/g, '-')}`, permissions: ['agent.read', permission] })
        .expect(403);
      assert.equal(role.body.code, 'GRANT_REQUIRES_OWNER', permission);
      assert.deepEqual(role.body.details, [
        { location: 'body', field: 'permissions', message: `only an owner grants ${permission}`, rule: 'owner_only' },
      ]);
    }
    // The built-in admin role carries them all: an admin neither assigns it nor creates users with it.
    const assign = await warden.request
      .post('/api/v1/user-roles')
      .set(as(deputy))
      .send({ user_id: worker.id, role_id: 'rol_admin' })
      .expect(403);
    assert.equal(assign.body.code, 'GRANT_REQUIRES_OWNER');
    assert.match(assign.body.message, /request\.approve\. Only an org owner grants/);
    const newAdmin = await warden.request
      .post('/api/v1/users')
      .set(as(deputy))
      .send({ email: 'admin3@example.com', password: 'long enough password', role: 'admin' })
      .expect(403);
    assert.equal(newAdmin.body.code, 'GRANT_REQUIRES_OWNER');
    // Nor does an admin widen a role to them; keeping one a role has, or removing it, is fine.
    const helper = await warden.request
      .post('/api/v1/roles')
      .set(as(deputy))
      .send({ name: 'helper', permissions: ['request.read'] })
      .expect(201);
    await warden.request.post('/api/v1/user-roles').set(as(deputy)).send({ user_id: worker.id, role_id: helper.body.id }).expect(201);
    const widen = await warden.request
      .put(`/api/v1/roles/${helper.body.id}/permissions`)
      .set(as(deputy))
      .send({ permissions: ['request.read', 'request.approve'] })
      .expect(403);
    assert.equal(widen.body.code, 'GRANT_REQUIRES_OWNER');
    assert.match(widen.body.message, /request\.approve/);
    assert.deepEqual((await warden.request.get(`/api/v1/roles/${helper.body.id}`).set(as(deputy)).expect(200)).body.permissions, [
      'request.read',
    ]);
    assert.deepEqual(await rowCounts(warden, tables), { ...before, roles: before.roles! + 1, user_roles: before.user_roles! + 1 });

    // An owner may do each of these.
    await warden.request
      .put(`/api/v1/roles/${helper.body.id}/permissions`)
      .set(as(boss))
      .send({ permissions: ['request.read', 'request.approve'] })
      .expect(200);
    const kept = await warden.request
      .put(`/api/v1/roles/${helper.body.id}/permissions`)
      .set(as(deputy))
      .send({ permissions: ['request.read', 'request.approve', 'agent.read'] })
      .expect(200);
    assert.deepEqual(kept.body.permissions, ['request.read', 'request.approve', 'agent.read']);
    await warden.request
      .put(`/api/v1/roles/${helper.body.id}/permissions`)
      .set(as(deputy))
      .send({ permissions: ['agent.read'] })
      .expect(200);
    const approver = await warden.request
      .post('/api/v1/roles')
      .set(as(boss))
      .send({ name: 'approver', permissions: ownerOnly })
      .expect(201);
    await warden.request.post('/api/v1/user-roles').set(as(boss)).send({ user_id: worker.id, role_id: approver.body.id }).expect(201);
    await warden.request.post('/api/v1/user-roles').set(as(boss)).send({ user_id: worker.id, role_id: 'rol_admin' }).expect(201);
    const made = await warden.request
      .post('/api/v1/users')
      .set(as(boss))
      .send({ email: 'admin3@example.com', password: 'long enough password', role: 'admin' })
      .expect(201);
    assert.equal(made.body.role, 'admin');
    // Members and viewers stay an admin's to create.
    await warden.request
      .post('/api/v1/users')
      .set(as(deputy))
      .send({ email: 'member3@example.com', password: 'long enough password', role: 'member' })
      .expect(201);
  });

  it('no privilege escalation: roles, assignments and users with permissions the caller lacks are 403; nothing changes', async () => {
    const tables = ['roles', 'user_roles', 'users'];
    const before = await rowCounts(warden, tables);
    // admins lack owner.grant, so they can neither make owners nor hand out the owner role.
    const makeOwner = await warden.request
      .post('/api/v1/users')
      .set(as(admin))
      .send({ email: 'o2@example.com', password: 'long enough password', role: 'owner' })
      .expect(403);
    assert.equal(makeOwner.body.code, 'PRIVILEGE_ESCALATION');
    assert.match(makeOwner.body.message, /owner\.grant/);
    await warden.request.post('/api/v1/user-roles').set(as(admin)).send({ user_id: admin.id, role_id: 'rol_owner' }).expect(403);
    const role = await warden.request
      .post('/api/v1/roles')
      .set(as(admin))
      .send({ name: 'sneaky', permissions: ['owner.grant'] })
      .expect(403);
    assert.deepEqual(role.body.details, [
      { location: 'body', field: 'permissions', message: 'you do not hold owner.grant', rule: 'escalation' },
    ]);
    assert.deepEqual(await rowCounts(warden, tables), before);
    // An owner can.
    await warden.request.post('/api/v1/user-roles').set(as(owner)).send({ user_id: admin.id, role_id: 'rol_owner' }).expect(201);
  });

  it('no privilege escalation by removal either: taking away permissions the caller lacks is 403 and changes nothing', async () => {
    const promoted = await createUserAndLogin(warden, org, 'promoted@example.com', 'viewer');
    const stripper = await createUserAndLogin(warden, org, 'stripper@example.com', 'admin');
    const keyholder = await warden.request
      .post('/api/v1/roles')
      .set(as(owner))
      .send({ name: 'keyholder', permissions: ['owner.grant', 'agent.read'] })
      .expect(201);
    const ownerRole = await warden.request.post('/api/v1/user-roles').set(as(owner)).send({ user_id: promoted.id, role_id: 'rol_owner' });
    await warden.request.post('/api/v1/user-roles').set(as(owner)).send({ user_id: promoted.id, role_id: keyholder.body.id }).expect(201);
    const tables = ['roles', 'user_roles', 'users'];
    const before = await rowCounts(warden, tables);

    // An admin lacks owner.grant: it cannot strip an owner of it by any route, nor then delete them.
    const refusals = [
      await warden.request.delete(`/api/v1/user-roles/${ownerRole.body.id}`).set(as(stripper)),
      await warden.request
        .put(`/api/v1/roles/${keyholder.body.id}/permissions`)
        .set(as(stripper))
        .send({ permissions: ['agent.read'] }),
      await warden.request.delete(`/api/v1/roles/${keyholder.body.id}`).set(as(stripper)),
      await warden.request.delete(`/api/v1/users/${promoted.id}`).set(as(stripper)),
    ];
    for (const refusal of refusals) {
      assert.equal(refusal.status, 403, JSON.stringify(refusal.body));
      assert.equal(refusal.body.code, 'PRIVILEGE_ESCALATION');
      assert.match(refusal.body.message, /owner\.grant/);
    }
    // Narrowing a role to what the caller holds is fine as long as nothing it lacks is removed.
    await warden.request
      .put(`/api/v1/roles/${keyholder.body.id}/permissions`)
      .set(as(stripper))
      .send({ permissions: ['owner.grant'] })
      .expect(403);
    const role = await warden.request.get(`/api/v1/roles/${keyholder.body.id}`).set(as(owner)).expect(200);
    assert.deepEqual(role.body.permissions, ['owner.grant', 'agent.read']);

    // A key that may only edit users cannot delete a user who holds more than it does.
    const narrow = await warden.request
      .post('/api/v1/api-keys')
      .set(as(owner))
      .send({ name: 'user clerk', permissions: ['user.edit', 'user.read'] })
      .expect(201);
    const deleteAdmin = await warden.request.delete(`/api/v1/users/${stripper.id}`).set({ 'X-API-Key': narrow.body.key }).expect(403);
    assert.equal(deleteAdmin.body.code, 'PRIVILEGE_ESCALATION');
    assert.deepEqual(await rowCounts(warden, tables), before);

    // An owner holds all of it.
    await warden.request.delete(`/api/v1/user-roles/${ownerRole.body.id}`).set(as(owner)).expect(204);
  });

  it('built-in roles cannot change (409); unknown and platform permissions are 422; duplicate names 409', async () => {
    const fixed = await warden.request
      .put('/api/v1/roles/rol_admin/permissions')
      .set(as(owner))
      .send({ permissions: ['workspace.read'] })
      .expect(409);
    assert.equal(fixed.body.code, 'ROLE_BUILT_IN');
    await warden.request.delete('/api/v1/roles/rol_viewer').set(as(owner)).expect(409);
    const unknown = await warden.request
      .post('/api/v1/roles')
      .set(as(owner))
      .send({ name: 'bad', permissions: ['workspace.read', 'teleport.use'] })
      .expect(422);
    assert.equal(unknown.body.code, 'UNKNOWN_PERMISSION');
    assert.deepEqual(unknown.body.details, [
      { location: 'body', field: 'permissions/1', message: 'is not in the permission catalog', rule: 'enum' },
    ]);
    const platform = await warden.request
      .post('/api/v1/roles')
      .set(as(owner))
      .send({ name: 'bad', permissions: ['org.create'] })
      .expect(422);
    assert.equal(platform.body.details[0].message, 'is a platform permission');
    await warden.request
      .post('/api/v1/roles')
      .set(as(owner))
      .send({ name: 'dup', permissions: ['user.read'] })
      .expect(201);
    const dup = await warden.request
      .post('/api/v1/roles')
      .set(as(owner))
      .send({ name: 'dup', permissions: ['user.read'] })
      .expect(409);
    assert.equal(dup.body.code, 'ROLE_NAME_TAKEN');
    await warden.request
      .post('/api/v1/roles')
      .set(as(owner))
      .send({ name: 'admin', permissions: ['user.read'] })
      .expect(409);
    await warden.request
      .put('/api/v1/roles/rol_nosuch/permissions')
      .set(as(owner))
      .send({ permissions: ['user.read'] })
      .expect(404);
    await warden.request.post('/api/v1/user-roles').set(as(owner)).send({ user_id: 'usr_nosuch', role_id: 'rol_admin' }).expect(404);
    await warden.request.get('/api/v1/users/usr_nosuch/roles').set(as(owner)).expect(404);
  });

  it('the last owner cannot be revoked or demoted: 409 LAST_OWNER, nothing changes; with another owner it can', async () => {
    const fresh = await createOrg(warden, 'enterprise', 'Owner guard org');
    const withKey = { 'X-API-Key': fresh.key };
    const events = async (action: string) =>
      (await warden.auditRows(`SELECT count(*)::int AS n FROM audit_events WHERE org_id = $1 AND action = $2`, [fresh.id, action]))[0].n;

    // The first-start key is the only owner: it cannot revoke itself.
    const lastKey = await warden.request.delete(`/api/v1/api-keys/${fresh.keyId}`).set(withKey).expect(409);
    assert.equal(lastKey.body.code, 'LAST_OWNER');
    assert.match(lastKey.body.message, /without an owner/);
    await warden.request.get('/api/v1/auth/me').set(withKey).expect(200);
    assert.equal(await events('api_key.revoked'), 0);

    // An admin made owner through a custom role and through rol_owner, then the key goes.
    const alice = await warden.request
      .post('/api/v1/users')
      .set(withKey)
      .send({ email: 'alice@guard.example', password: 'long enough password', role: 'admin' })
      .expect(201);
    const keyholder = await warden.request
      .post('/api/v1/roles')
      .set(withKey)
      // With workflow.edit, which the admin role lacks: Alice then holds every owner permission.
      .send({ name: 'keyholder', permissions: ['owner.grant', 'workflow.edit'] })
      .expect(201);
    const viaCustom = await warden.request
      .post('/api/v1/user-roles')
      .set(withKey)
      .send({ user_id: alice.body.id, role_id: keyholder.body.id })
      .expect(201);
    const viaOwner = await warden.request
      .post('/api/v1/user-roles')
      .set(withKey)
      .send({ user_id: alice.body.id, role_id: 'rol_owner' })
      .expect(201);
    await warden.request.delete(`/api/v1/api-keys/${fresh.keyId}`).set(withKey).expect(200);
    const aliceLogin = await warden.request
      .post('/api/v1/auth/login')
      .send({ email: 'alice@guard.example', password: 'long enough password' })
      .expect(200);
    const asAlice = { Authorization: `Bearer ${aliceLogin.body.token}` };

    // One of her two owner grants can go; the last one cannot, by any route.
    await warden.request.delete(`/api/v1/user-roles/${viaOwner.body.id}`).set(asAlice).expect(204);
    const before = await rowCounts(warden, ['roles', 'user_roles']);
    const demote = await warden.request.delete(`/api/v1/user-roles/${viaCustom.body.id}`).set(asAlice).expect(409);
    assert.equal(demote.body.code, 'LAST_OWNER');
    const narrow = await warden.request
      .put(`/api/v1/roles/${keyholder.body.id}/permissions`)
      .set(asAlice)
      .send({ permissions: ['user.read'] })
      .expect(409);
    assert.equal(narrow.body.code, 'LAST_OWNER');
    const drop = await warden.request.delete(`/api/v1/roles/${keyholder.body.id}`).set(asAlice).expect(409);
    assert.equal(drop.body.code, 'LAST_OWNER');
    assert.deepEqual(await rowCounts(warden, ['roles', 'user_roles']), before);
    const role = await warden.request.get(`/api/v1/roles/${keyholder.body.id}`).set(asAlice).expect(200);
    assert.deepEqual(role.body.permissions, ['owner.grant', 'workflow.edit']);
    assert.equal(await events('user_role.removed'), 1);

    // Two owners demoting each other at once: exactly one of them wins.
    const bob = await warden.request
      .post('/api/v1/users')
      .set(asAlice)
      .send({ email: 'bob@guard.example', password: 'long enough password', role: 'admin' })
      .expect(201);
    const bobOwner = await warden.request
      .post('/api/v1/user-roles')
      .set(asAlice)
      .send({ user_id: bob.body.id, role_id: 'rol_owner' })
      .expect(201);
    const results = await Promise.all([
      warden.request.delete(`/api/v1/user-roles/${viaCustom.body.id}`).set(asAlice),
      warden.request.delete(`/api/v1/user-roles/${bobOwner.body.id}`).set(asAlice),
    ]);
    // Whichever commits first decides the other's refusal: 409 once the other is the last owner,
    // or 403 once Alice's own ownership is gone; never both removed.
    const statuses = results.map((res) => res.status);
    assert.equal(statuses.filter((status) => status === 204).length, 1, `statuses ${statuses.join(', ')}`);
    assert.ok(
      statuses.every((status) => [204, 403, 409].includes(status)),
      `statuses ${statuses.join(', ')}`,
    );
    const [{ n }] = await warden.database.dataSource.query(
      `SELECT count(*)::int AS n FROM user_roles WHERE org_id = $1 AND id = ANY ($2)`,
      [fresh.id, [viaCustom.body.id, bobOwner.body.id]],
    );
    assert.equal(n, 1);
  });

  it('custom roles need the custom_roles plan feature: 402 on the free plan with the seed-000 body', async () => {
    const free = await createOrg(warden, 'free', 'Free org');
    const res = await warden.request
      .post('/api/v1/roles')
      .set('X-API-Key', free.key)
      .send({ name: 'x', permissions: ['user.read'] })
      .expect(402);
    assert.equal(res.body.error, 'plan_limit_exceeded');
    assert.equal(res.body.code, 'CUSTOM_ROLES_REQUIRES_UPGRADE');
    assert.equal(res.body.message, 'Your current plan (free) does not include custom_roles. Upgrade to starter or higher.');
    assert.equal(res.body.required_plan, 'starter');
    assert.equal(res.body.current_usage, undefined);
  });

  it('GET /plans serves the plan table the checks read, exactly as the spec documents it', async () => {
    const res = await warden.request.get('/api/v1/plans').expect(200);
    const { document } = warden.binding.spec;
    const documented = resolveRef(
      document,
      (document.paths!['/api/v1/plans'] as { get: { responses: Record<string, unknown> } }).get.responses['200'],
    ) as {
      content: Record<string, { example: unknown }>;
    };
    assert.deepEqual(documented.content['application/json']!.example, res.body);
    assert.deepEqual(
      res.body.plans.map((p: { name: string }) => p.name),
      ['free', 'starter', 'professional', 'enterprise'],
    );
    assert.equal(res.body.plans[0].quotas.api_keys, 3);
    assert.equal(res.body.plans[3].quotas.workspaces, null);
  });
});
