import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  approveWith,
  type Broker,
  createWireAgent,
  createWorkflow,
  type Person,
  readRequestBody,
  SECRET_REF,
  setUpBroker,
} from './support/broker';
import { assertNoSecretAtRest, PASSWORD, rowCounts, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('access requests: create, list, approve, reject, cancel, expire (seed 002)', () => {
  let warden: TestApp;
  let broker: Broker;
  let other: Broker;
  const handled: string[] = [];

  const createRead = (extra: Record<string, unknown> = {}, as = broker.requester.auth) =>
    warden.request.post('/api/v1/requests/read').set(as).send(readRequestBody(broker, extra));
  const createPatch = (value: string, extra: Record<string, unknown> = {}) =>
    warden.request
      .post('/api/v1/requests')
      .set(broker.requester.auth)
      .send({ ...readRequestBody(broker, extra), value });
  const decide = (
    id: string,
    verb: 'approve' | 'reject',
    who: { id: string; auth: Record<string, string> },
    body: Record<string, unknown> = {},
  ) =>
    warden.request
      .post(`/api/v1/requests/${id}/${verb}`)
      .set(who.auth)
      .send({ approver_id: who.id, ...(verb === 'reject' ? { reason: 'Not during the freeze' } : {}), ...body });

  before(async () => {
    warden = await startTestApp({ config: { encryptionKey: randomBytes(32) } });
    broker = await setUpBroker(warden);
    other = await setUpBroker(warden, 'Other org');
    await createWireAgent(warden, broker, 'agent-one');
    await createWireAgent(warden, other, 'agent-other');
    // Production reads and patches need two approvals from the security role.
    await createWorkflow(warden, broker, {
      match: { environment_names: ['production'] },
      required_approvals: 2,
      approver_roles: ['security'],
    });
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /requests/read judges the request under the matching workflow and records its version', async () => {
    const res = await createRead().expect(201);
    assert.match(res.body.id, /^acr_[0-9a-z]{26}$/);
    assert.equal(res.body.kind, 'read');
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.requester_id, broker.requester.id);
    assert.equal(res.body.project_name, 'payments');
    assert.equal(res.body.environment_name, 'production');
    assert.deepEqual(res.body.secret, SECRET_REF);
    assert.match(res.body.secret_id, /^sec_/);
    assert.match(res.body.workflow_id, /^wf_/);
    assert.equal(res.body.workflow_version, 1);
    assert.equal(res.body.required_approvals, 2);
    assert.deepEqual(res.body.approver_roles, ['security']);
    assert.deepEqual(res.body.approvals, []);
    assert.equal(res.body.job_id, null);
    const hours = (Date.parse(res.body.expires_at) - Date.parse(res.body.created_at)) / 3_600_000;
    assert.ok(Math.abs(hours - 24) < 0.01, 'expires in 24 hours by default');
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'access_request.created');
    assert.equal(event.resource_id, res.body.id);
    const got = await warden.request.get(`/api/v1/requests/${res.body.id}`).set(broker.requester.auth).expect(200);
    assert.deepEqual(got.body, res.body);
  });

  it('POST /requests stores a patch value only as an encrypted wrap; no answer or event repeats it', async () => {
    const value = `sk_live_${randomBytes(18).toString('hex')}`;
    handled.push(value);
    const res = await createPatch(value, { expires_in: 3600 }).expect(201);
    assert.equal(res.body.kind, 'patch');
    assert.ok(!JSON.stringify(res.body).includes(value));
    await theAuditEventOf(warden, res, [value]);
    const wraps = await warden.request.get(`/api/v1/requests/${res.body.id}/wraps`).set(broker.requester.auth).expect(200);
    assert.equal(wraps.body.wraps.length, 1);
    assert.equal(wraps.body.wraps[0].kind, 'patch');
    assert.equal(wraps.body.wraps[0].status, 'available');
    assert.equal(wraps.body.wraps[0].size_bytes, value.length);
    assert.equal(wraps.body.wraps[0].expires_at, res.body.expires_at);
    // The patch value is the agent's to retrieve, not the requester's.
    const refused = await warden.request
      .get(`/api/v1/requests/${res.body.id}/wraps/${wraps.body.wraps[0].id}`)
      .set(broker.requester.auth)
      .expect(404);
    assert.equal(refused.body.code, 'WRAP_NOT_FOUND');
  });

  it('approvals: a person with the role, once each, never the requester; the second approval queues the job', async () => {
    const { body: request } = await createRead().expect(201);
    const [first, second] = broker.approvers;
    const viaKey = await warden.request
      .post(`/api/v1/requests/${request.id}/approve`)
      .set(broker.owner)
      .send({ approver_id: first.id })
      .expect(403);
    assert.equal(viaKey.body.code, 'HUMAN_DECISION_REQUIRED');
    assert.equal((await decide(request.id, 'approve', { id: second.id, auth: first.auth }).expect(403)).body.code, 'ACTOR_MISMATCH');
    assert.equal((await decide(request.id, 'approve', broker.outsider).expect(403)).body.code, 'APPROVER_ROLE_REQUIRED');

    const once = await decide(request.id, 'approve', first, { comment: 'Checked INC-4521' }).expect(200);
    assert.equal(once.body.status, 'pending');
    assert.deepEqual(
      once.body.approvals.map((a: Record<string, unknown>) => [a.approver_id, a.decision, a.comment]),
      [[first.id, 'approved', 'Checked INC-4521']],
    );
    const event = await theAuditEventOf(warden, once);
    assert.equal(event.action, 'access_request.approved');
    assert.equal((event.details.before as { status: string }).status, 'pending');
    assert.equal((await decide(request.id, 'approve', first).expect(409)).body.code, 'ALREADY_DECIDED_BY_YOU');

    const twice = await decide(request.id, 'approve', second).expect(200);
    assert.equal(twice.body.status, 'approved');
    assert.match(twice.body.job_id, /^job_/);
    assert.ok(twice.body.decided_at);
    const [job] = await warden.database.dataSource.query('SELECT kind, cluster_name, request_id, status FROM jobs WHERE id = $1', [
      twice.body.job_id,
    ]);
    assert.deepEqual(job, { kind: 'read', cluster_name: SECRET_REF.cluster_name, request_id: request.id, status: 'queued' });
    assert.equal((await decide(request.id, 'reject', second).expect(409)).body.code, 'REQUEST_NOT_PENDING');
  });

  it('a requester never decides their own request, even holding the role', async () => {
    const [approver] = broker.approvers;
    const { body: request } = await createRead({}, approver.auth).expect(201);
    assert.equal((await decide(request.id, 'approve', approver).expect(403)).body.code, 'SELF_APPROVAL_FORBIDDEN');
    assert.equal((await decide(request.id, 'reject', approver).expect(403)).body.code, 'SELF_APPROVAL_FORBIDDEN');
  });

  it('the four-eyes rule survives a malicious admin: no sock-puppet user can be made an approver of their own request', async () => {
    // An org whose production workflow wants one approval from anyone holding request.approve.
    const org = await setUpBroker(warden, 'Four eyes org');
    await createWireAgent(warden, org, 'agent-four-eyes');
    await createWorkflow(warden, org, { match: { environment_names: ['production'] }, required_approvals: 1, approver_roles: [] });
    const admin = org.outsider;
    const { body: request } = await warden.request.post('/api/v1/requests/read').set(admin.auth).send(readRequestBody(org)).expect(201);
    assert.equal(request.status, 'pending');
    assert.equal((await decide(request.id, 'approve', admin).expect(403)).body.code, 'SELF_APPROVAL_FORBIDDEN');
    const tables = ['users', 'roles', 'user_roles'];
    const before = await rowCounts(warden, tables);

    // A second user the admin controls, made an admin or given an approver role: refused.
    const puppetEmail = `puppet-${Date.now()}@example.com`;
    const asAdmin = await warden.request
      .post('/api/v1/users')
      .set(admin.auth)
      .send({ email: puppetEmail, password: PASSWORD, role: 'admin' })
      .expect(403);
    assert.equal(asAdmin.body.code, 'GRANT_REQUIRES_OWNER');
    const created = await warden.request.post('/api/v1/users').set(admin.auth).send({ email: puppetEmail, password: PASSWORD }).expect(201);
    const login = await warden.request.post('/api/v1/auth/login').send({ email: puppetEmail, password: PASSWORD }).expect(200);
    const puppet = { id: created.body.id as string, auth: { Authorization: `Bearer ${login.body.token}` } };
    const security = (await warden.request.get('/api/v1/roles').set(admin.auth).expect(200)).body.roles.find(
      (role: { name: string }) => role.name === 'security',
    );
    for (const roleId of ['rol_admin', security.id]) {
      const grant = await warden.request
        .post('/api/v1/user-roles')
        .set(admin.auth)
        .send({ user_id: puppet.id, role_id: roleId })
        .expect(403);
      assert.equal(grant.body.code, 'GRANT_REQUIRES_OWNER');
    }
    const stamp = await warden.request
      .post('/api/v1/roles')
      .set(admin.auth)
      .send({ name: 'rubber-stamp', permissions: ['request.approve'] })
      .expect(403);
    assert.equal(stamp.body.code, 'GRANT_REQUIRES_OWNER');
    // A harmless role the puppet holds cannot be widened afterwards either.
    const reader = await warden.request
      .post('/api/v1/roles')
      .set(admin.auth)
      .send({ name: 'reader', permissions: ['request.read'] })
      .expect(201);
    await warden.request.post('/api/v1/user-roles').set(admin.auth).send({ user_id: puppet.id, role_id: reader.body.id }).expect(201);
    const widen = await warden.request
      .put(`/api/v1/roles/${reader.body.id}/permissions`)
      .set(admin.auth)
      .send({ permissions: ['request.read', 'request.approve'] })
      .expect(403);
    assert.equal(widen.body.code, 'GRANT_REQUIRES_OWNER');
    assert.deepEqual(await rowCounts(warden, tables), {
      users: before.users! + 1,
      roles: before.roles! + 1,
      user_roles: before.user_roles! + 1,
    });

    // So the puppet cannot approve, and the request is still waiting for a second person.
    const attempt = await decide(request.id, 'approve', puppet).expect(403);
    assert.equal(attempt.body.code, 'PERMISSION_DENIED');
    const still = await warden.request.get(`/api/v1/requests/${request.id}`).set(admin.auth).expect(200);
    assert.equal(still.body.status, 'pending');
    assert.deepEqual(still.body.approvals, []);
    // A real approver the owner appointed decides it.
    const approved = await decide(request.id, 'approve', org.approvers[0]).expect(200);
    assert.equal(approved.body.status, 'approved');
  });

  it('reverse puppet: whoever created the requester never decides their request (403 CREATOR_DECISION_FORBIDDEN)', async () => {
    const org = await setUpBroker(warden, 'Reverse puppet org');
    await createWireAgent(warden, org, 'agent-reverse-puppet');
    await createWorkflow(warden, org, { match: { environment_names: ['production'] }, required_approvals: 1, approver_roles: [] });
    const admin = org.outsider; // an admin: holds user.edit and request.approve
    // Users the owner's first-start key made have no creator in the org.
    const listed = await warden.request.get('/api/v1/users?limit=200').set(admin.auth).expect(200);
    const adminRow = listed.body.users.find((user: { id: string }) => user.id === admin.id);
    assert.equal(adminRow.created_by, null);

    // The admin creates a member (with their login, and with an API key they made) ...
    const puppets: Person[] = [];
    // The key needs every permission of the member role it hands out, and user.edit.
    const member = await warden.request.get('/api/v1/roles/rol_member').set(admin.auth).expect(200);
    const adminKey = await warden.request
      .post('/api/v1/api-keys')
      .set(admin.auth)
      .send({ name: 'provisioning', permissions: [...member.body.permissions, 'user.edit'] })
      .expect(201);
    for (const credential of [admin.auth, { 'X-API-Key': adminKey.body.key as string }]) {
      const email = `member-${puppets.length}-${Date.now()}@example.com`;
      const created = await warden.request.post('/api/v1/users').set(credential).send({ email, password: PASSWORD }).expect(201);
      assert.equal(created.body.role, 'member');
      assert.equal(created.body.created_by, admin.id);
      const [row] = await warden.database.dataSource.query('SELECT created_by FROM users WHERE id = $1', [created.body.id]);
      assert.deepEqual(row, { created_by: admin.id });
      const login = await warden.request.post('/api/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
      assert.equal(login.body.user.created_by, admin.id);
      puppets.push({ id: created.body.id, token: login.body.token, auth: { Authorization: `Bearer ${login.body.token}` } });
    }

    for (const puppet of puppets) {
      // ... the member files a request, and the admin tries to decide it: refused, nothing recorded.
      const { body: request } = await warden.request.post('/api/v1/requests/read').set(puppet.auth).send(readRequestBody(org)).expect(201);
      assert.equal(request.status, 'pending');
      for (const verb of ['approve', 'reject'] as const) {
        const refused = await decide(request.id, verb, admin).expect(403);
        assert.equal(refused.body.code, 'CREATOR_DECISION_FORBIDDEN');
        assert.match(refused.body.message, /You created the requester/);
        assert.match(refused.body.request_id, /^req_/);
      }
      const still = await warden.request.get(`/api/v1/requests/${request.id}`).set(admin.auth).expect(200);
      assert.equal(still.body.status, 'pending');
      assert.deepEqual(still.body.approvals, []);
      assert.equal(still.body.job_id, null);
      const [{ n }] = await warden.database.dataSource.query(
        'SELECT count(*)::int AS n FROM access_request_approvals WHERE request_id = $1',
        [request.id],
      );
      assert.equal(n, 0);
      // Another approver, who did not create the member, decides it.
      const approved = await decide(request.id, 'approve', org.approvers[0]).expect(200);
      assert.equal(approved.body.status, 'approved');
      assert.deepEqual(
        approved.body.approvals.map((a: { approver_id: string }) => a.approver_id),
        [org.approvers[0].id],
      );
    }
  });

  it('decision roles are owner-governed: an admin cannot narrow, assign, delete or re-create a role a workflow names', async () => {
    const org = await setUpBroker(warden, 'Decision role org');
    await createWireAgent(warden, org, 'agent-decision-role');
    const admin = org.outsider; // an admin: holds request.approve, role.edit and user_role.edit through the built-in admin role
    const createRole = (as: Record<string, string>, name: string, permissions: string[]) =>
      warden.request.post('/api/v1/roles').set(as).send({ name, permissions });
    const assignToSelf = (roleId: string) =>
      warden.request.post('/api/v1/user-roles').set(admin.auth).send({ user_id: admin.id, role_id: roleId });
    const sec3 = await createRole(org.owner, 'sec3', ['request.approve', 'request.read']).expect(201);
    const workflowId = await createWorkflow(warden, org, {
      name: 'prod-sec3',
      match: { environment_names: ['production'] },
      required_approvals: 1,
      approver_roles: ['sec3'],
    });
    const { body: request } = await warden.request
      .post('/api/v1/requests/read')
      .set(org.requester.auth)
      .send(readRequestBody(org))
      .expect(201);
    assert.deepEqual(request.approver_roles, ['sec3']);
    assert.equal((await decide(request.id, 'approve', admin).expect(403)).body.code, 'APPROVER_ROLE_REQUIRED');

    const snapshot = async () => ({
      roles: await warden.database.dataSource.query('SELECT id, name, permissions FROM roles WHERE org_id = $1 ORDER BY id', [org.org.id]),
      user_roles: await warden.database.dataSource.query('SELECT id, user_id, role_id FROM user_roles WHERE org_id = $1 ORDER BY id', [
        org.org.id,
      ]),
    });
    const refusedAsDecisionRole = (res: { body: Record<string, unknown> }, field: string) => {
      assert.equal(res.body.code, 'GRANT_REQUIRES_OWNER');
      assert.match(res.body.message as string, new RegExp(`approver role of workflow 'prod-sec3' \\(${workflowId}\\)`));
      assert.match(res.body.request_id as string, /^req_/);
      assert.equal((res.body.details as Array<{ field: string; rule: string }>)[0]!.field, field);
      assert.equal((res.body.details as Array<{ field: string; rule: string }>)[0]!.rule, 'owner_only');
    };
    // An owner-appointed approver holds sec3 (the admin must not be able to take it away either).
    const approverAssignment = await warden.request
      .post('/api/v1/user-roles')
      .set(org.owner)
      .send({ user_id: org.approvers[0].id, role_id: sec3.body.id })
      .expect(201);
    const before = await snapshot();

    // Route 1: narrow the role to harmless permissions, then assign it to themselves.
    refusedAsDecisionRole(
      await warden.request
        .put(`/api/v1/roles/${sec3.body.id}/permissions`)
        .set(admin.auth)
        .send({ permissions: ['request.read'] })
        .expect(403),
      'id',
    );
    const selfAssign = await assignToSelf(sec3.body.id).expect(403);
    assert.equal(selfAssign.body.code, 'GRANT_REQUIRES_OWNER');
    // Route 2: delete it, and create a harmless namesake.
    refusedAsDecisionRole(await warden.request.delete(`/api/v1/roles/${sec3.body.id}`).set(admin.auth).expect(403), 'id');
    refusedAsDecisionRole(await createRole(admin.auth, 'sec3', ['request.read']).expect(403), 'name');
    // Nor may the admin take the role from the approver the owner appointed.
    refusedAsDecisionRole(
      await warden.request.delete(`/api/v1/user-roles/${approverAssignment.body.id}`).set(admin.auth).expect(403),
      'id',
    );
    // A decision role carrying no owner-only permission: assigning it is refused for being one.
    const harmless = await createRole(org.owner, 'sec3-readers', ['request.read']).expect(201);
    await warden.request
      .put(`/api/v1/workflows/${workflowId}`)
      .set(org.owner)
      .send({
        name: 'prod-sec3',
        match: { environment_names: ['production'] },
        required_approvals: 1,
        approver_roles: ['sec3', 'sec3-readers'],
        priority: 100,
      })
      .expect(200);
    const assignHarmless = await assignToSelf(harmless.body.id).expect(403);
    assert.equal(assignHarmless.body.code, 'GRANT_REQUIRES_OWNER');
    assert.match(
      assignHarmless.body.message,
      /You cannot assign the role 'sec3-readers': 'sec3-readers' is an approver role of workflow 'prod-sec3'/,
    );
    assert.deepEqual((await snapshot()).roles.length, before.roles.length + 1);
    assert.deepEqual((await snapshot()).user_roles, before.user_roles);
    assert.deepEqual(
      (await snapshot()).roles.filter((role: { id: string }) => role.id !== harmless.body.id),
      before.roles,
    );
    // So the admin still cannot decide, and the request waits for its approver.
    assert.equal((await decide(request.id, 'approve', admin).expect(403)).body.code, 'APPROVER_ROLE_REQUIRED');
    const still = await warden.request.get(`/api/v1/requests/${request.id}`).set(admin.auth).expect(200);
    assert.equal(still.body.status, 'pending');
    assert.deepEqual(still.body.approvals, []);

    // Tenancy: this org's workflow naming sec3 makes nothing of another org's namesake.
    const otherAdmin = other.outsider;
    const otherSec3 = await createRole(otherAdmin.auth, 'sec3', ['request.read']).expect(201);
    const mine = await warden.request
      .post('/api/v1/user-roles')
      .set(otherAdmin.auth)
      .send({ user_id: otherAdmin.id, role_id: otherSec3.body.id })
      .expect(201);
    await warden.request.delete(`/api/v1/user-roles/${mine.body.id}`).set(otherAdmin.auth).expect(204);
    await warden.request.delete(`/api/v1/roles/${otherSec3.body.id}`).set(otherAdmin.auth).expect(204);

    // The workflow changed (or gone), a pending request still waits on sec3: still owner-only.
    await warden.request.delete(`/api/v1/workflows/${workflowId}`).set(org.owner).expect(204);
    const pending = await warden.request
      .put(`/api/v1/roles/${sec3.body.id}/permissions`)
      .set(admin.auth)
      .send({ permissions: ['request.read'] })
      .expect(403);
    assert.equal(pending.body.code, 'GRANT_REQUIRES_OWNER');
    assert.match(pending.body.message, new RegExp(`'sec3' is an approver role that pending access request ${request.id} waits on`));
    // ... while sec3-readers, named by no live workflow and no pending request, is an ordinary role again.
    await warden.request.post('/api/v1/user-roles').set(admin.auth).send({ user_id: admin.id, role_id: harmless.body.id }).expect(201);

    // An owner does each of them.
    await warden.request
      .put(`/api/v1/roles/${sec3.body.id}/permissions`)
      .set(org.owner)
      .send({ permissions: ['request.read'] })
      .expect(200);
    await warden.request.delete(`/api/v1/user-roles/${approverAssignment.body.id}`).set(org.owner).expect(204);
    await warden.request.delete(`/api/v1/roles/${sec3.body.id}`).set(org.owner).expect(204);
    const recreated = await createRole(org.owner, 'sec3', ['request.approve', 'request.read']).expect(201);
    await warden.request
      .post('/api/v1/user-roles')
      .set(org.owner)
      .send({ user_id: org.approvers[1].id, role_id: recreated.body.id })
      .expect(201);
    const decided = await decide(request.id, 'approve', org.approvers[1]).expect(200);
    assert.equal(decided.body.status, 'approved');
    // Decided, the request no longer makes sec3 a decision role: an admin manages it like any role.
    await warden.request
      .put(`/api/v1/roles/${recreated.body.id}/permissions`)
      .set(admin.auth)
      .send({ permissions: ['request.read'] })
      .expect(200);
  });

  it('a member without request.approve is refused with 403', async () => {
    const { body: request } = await createRead().expect(201);
    const member = { id: broker.requester.id, auth: broker.requester.auth };
    const res = await decide(request.id, 'approve', member);
    // The requester is a member: members ask, they do not approve.
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'PERMISSION_DENIED');
  });

  it('one rejection ends the request and destroys a patch value', async () => {
    const value = `pw-${randomBytes(12).toString('hex')}`;
    handled.push(value);
    const { body: request } = await createPatch(value).expect(201);
    await decide(request.id, 'approve', broker.approvers[0]).expect(200);
    const res = await decide(request.id, 'reject', broker.approvers[1], { reason: 'Use the rotation runbook' }).expect(200);
    assert.equal(res.body.status, 'rejected');
    assert.equal(res.body.decided_by, broker.approvers[1].id);
    assert.equal(res.body.decision_reason, 'Use the rotation runbook');
    assert.deepEqual(
      res.body.approvals.map((a: Record<string, unknown>) => a.decision),
      ['approved', 'rejected'],
    );
    assert.equal((await theAuditEventOf(warden, res)).action, 'access_request.rejected');
    const [wrap] = await warden.database.dataSource.query('SELECT ciphertext, wrapped_dek FROM wraps WHERE request_id = $1', [request.id]);
    assert.deepEqual(wrap, { ciphertext: null, wrapped_dek: null });
    const wraps = await warden.request.get(`/api/v1/requests/${request.id}/wraps`).set(broker.requester.auth).expect(200);
    assert.equal(wraps.body.wraps[0].status, 'expired');
    const cancel = await warden.request
      .post(`/api/v1/requests/${request.id}/cancel`)
      .set(broker.requester.auth)
      .send({ actor_id: broker.requester.id })
      .expect(409);
    assert.equal(cancel.body.code, 'REQUEST_NOT_PENDING');
  });

  it('only the requester cancels, naming themselves', async () => {
    const { body: request } = await createRead().expect(201);
    const cancel = (who: { auth: Record<string, string> }, actorId: string) =>
      warden.request.post(`/api/v1/requests/${request.id}/cancel`).set(who.auth).send({ actor_id: actorId });
    assert.equal((await cancel(broker.approvers[0], broker.requester.id).expect(403)).body.code, 'ACTOR_MISMATCH');
    assert.equal((await cancel(broker.approvers[0], broker.approvers[0].id).expect(403)).body.code, 'NOT_THE_REQUESTER');
    const res = await cancel(broker.requester, broker.requester.id).expect(200);
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.decided_by, broker.requester.id);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'access_request.cancelled');
    assert.equal((await decide(request.id, 'approve', broker.approvers[0]).expect(409)).body.code, 'REQUEST_NOT_PENDING');
  });

  it('concurrent decisions on a request: exactly one wins', async () => {
    await createWorkflow(warden, broker, { match: { kinds: ['read'], labels: { app: 'payments' } }, required_approvals: 1, priority: 200 });
    const { body: request } = await createRead().expect(201);
    assert.equal(request.required_approvals, 1);
    const results = await Promise.all([
      decide(request.id, 'approve', broker.approvers[0]),
      decide(request.id, 'reject', broker.approvers[1]),
      decide(request.id, 'approve', broker.outsider),
    ]);
    const statuses = results.map((res) => res.status);
    assert.equal(statuses.filter((status) => status === 200).length, 1, `one winner: ${statuses}`);
    for (const res of results.filter((r) => r.status !== 200)) assert.equal(res.body.code, 'REQUEST_NOT_PENDING');
    const [{ jobs }] = await warden.database.dataSource.query('SELECT count(*)::int AS jobs FROM jobs WHERE request_id = $1', [request.id]);
    const winner = results.find((res) => res.status === 200)!;
    assert.equal(jobs, winner.body.status === 'approved' ? 1 : 0);
    await warden.request.delete(`/api/v1/workflows/${winner.body.workflow_id}`).set(broker.owner).expect(204);
  });

  it('an auto-approving workflow approves on creation and queues the job', async () => {
    const workflowId = await createWorkflow(warden, broker, { match: { kinds: ['read'] }, auto_approve: true, priority: 300 });
    const res = await createRead().expect(201);
    assert.equal(res.body.status, 'approved');
    assert.equal(res.body.required_approvals, 0);
    assert.equal(res.body.workflow_id, workflowId);
    assert.match(res.body.job_id, /^job_/);
    await warden.request.delete(`/api/v1/workflows/${workflowId}`).set(broker.owner).expect(204);
  });

  it('a pending request past expires_at is expired: listed so, refused decisions, written by the sweep', async () => {
    const value = `pw-${randomBytes(12).toString('hex')}`;
    handled.push(value);
    const { body: request } = await createPatch(value, { expires_in: 300 }).expect(201);
    await warden.database.dataSource.query(`UPDATE access_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      request.id,
    ]);
    await warden.database.dataSource.query(`UPDATE wraps SET expires_at = now() - interval '1 second' WHERE request_id = $1`, [request.id]);
    const got = await warden.request.get(`/api/v1/requests/${request.id}`).set(broker.requester.auth).expect(200);
    assert.equal(got.body.status, 'expired');
    assert.equal((await decide(request.id, 'approve', broker.approvers[0]).expect(409)).body.code, 'REQUEST_EXPIRED');
    const listed = await warden.request.get('/api/v1/requests?status=expired').set(broker.requester.auth).expect(200);
    assert.ok(listed.body.requests.some((r: { id: string }) => r.id === request.id));
    const pending = await warden.request.get('/api/v1/requests?status=pending').set(broker.requester.auth).expect(200);
    assert.ok(!pending.body.requests.some((r: { id: string }) => r.id === request.id));
    assert.ok((await warden.services.accessRequests.expireDue()) >= 1);
    assert.ok((await warden.services.wraps.destroyExpired()) >= 0);
    const [row] = await warden.database.dataSource.query(
      `SELECT r.status, w.ciphertext FROM access_requests r JOIN wraps w ON w.request_id = r.id WHERE r.id = $1`,
      [request.id],
    );
    assert.deepEqual(row, { status: 'expired', ciphertext: null });
  });

  it('GET /requests filters by requester and status and pages with a cursor', async () => {
    const mine = await warden.request.get(`/api/v1/requests?requester_id=${broker.requester.id}&limit=2`).set(broker.approvers[0].auth);
    assert.equal(mine.status, 200);
    assert.equal(mine.body.requests.length, 2);
    assert.equal(mine.body.has_more, true);
    const next = await warden.request
      .get(`/api/v1/requests?requester_id=${broker.requester.id}&limit=2&cursor=${mine.body.next_cursor}`)
      .set(broker.approvers[0].auth)
      .expect(200);
    assert.ok(next.body.requests[0].id < mine.body.requests[1].id, 'newest first, no overlap');
    const cancelled = await warden.request.get('/api/v1/requests?status=cancelled').set(broker.owner).expect(200);
    assert.ok(cancelled.body.requests.length >= 1);
    assert.ok(cancelled.body.requests.every((r: { status: string }) => r.status === 'cancelled'));
    const nobody = await warden.request.get(`/api/v1/requests?requester_id=${broker.approvers[1].id}`).set(broker.owner).expect(200);
    assert.deepEqual(nobody.body.requests, []);
    assert.equal((await warden.request.get('/api/v1/requests?cursor=!!').set(broker.owner).expect(400)).body.code, 'INVALID_CURSOR');
    await warden.request.get('/api/v1/requests').expect(401);
  });

  it("another org's requests are 404; unknown projects, environments and secrets are 404; archived projects 409", async () => {
    const { body: request } = await createRead().expect(201);
    const foreign = await warden.request.get(`/api/v1/requests/${request.id}`).set(other.approvers[0].auth).expect(404);
    assert.equal(foreign.body.code, 'REQUEST_NOT_FOUND');
    assert.equal((await decide(request.id, 'approve', other.approvers[0]).expect(404)).body.code, 'REQUEST_NOT_FOUND');
    const theirs = await warden.request.get('/api/v1/requests').set(other.owner).expect(200);
    assert.ok(!theirs.body.requests.some((r: { id: string }) => r.id === request.id));
    const wrongEnv = await createRead({ environment_id: other.environmentId }).expect(404);
    assert.equal(wrongEnv.body.code, 'ENVIRONMENT_NOT_FOUND');
    const wrongProject = await createRead({ project_id: other.projectId }).expect(404);
    assert.equal(wrongProject.body.code, 'PROJECT_NOT_FOUND');
    const unknownSecret = await createRead({ secret: { ...SECRET_REF, ref: 'payments/unknown' } }).expect(404);
    assert.equal(unknownSecret.body.code, 'SECRET_NOT_FOUND');
    await warden.request.get('/api/v1/requests/acr_nonexistent0000000000000000').set(broker.requester.auth).expect(404);

    await warden.request.put(`/api/v1/projects/${other.projectId}/status`).set(other.owner).send({ status: 'archived' }).expect(200);
    const archived = await warden.request.post('/api/v1/requests/read').set(other.requester.auth).send(readRequestBody(other)).expect(409);
    assert.equal(archived.body.code, 'PROJECT_ARCHIVED');
  });

  it('bad input: 422 for a body off its schema, 400 for a malformed id, 403 without a person behind the credential', async () => {
    const missing = await warden.request.post('/api/v1/requests').set(broker.requester.auth).send(readRequestBody(broker)).expect(422);
    assert.ok(missing.body.details.some((d: { field: string }) => d.field.includes('value')));
    await createRead({ expires_in: 10 }).expect(422);
    await createRead({ secret: { secret_id: 'sec_x', ref: 'also' } }).expect(422);
    await warden.request.get('/api/v1/requests/not-an-id').set(broker.requester.auth).expect(400);
    const keyOnly = await createRead({}, broker.owner).expect(403);
    assert.equal(keyOnly.body.code, 'USER_REQUIRED');
    const cancelBad = await warden.request
      .post('/api/v1/requests/acr_nonexistent0000000000000000/cancel')
      .set(broker.requester.auth)
      .send({ actor_id: 'me' })
      .expect(422);
    assert.equal(cancelBad.body.code, 'VALIDATION_FAILED');
    await warden.request
      .post('/api/v1/requests/acr_x/cancel')
      .set(broker.requester.auth)
      .send({ actor_id: broker.requester.id })
      .expect(404);
    await approveWith(warden, (await createRead().expect(201)).body.id, broker.approvers);
  });
  it('answers every documented refusal: 400 malformed, 401 without a credential, 404 unknown, 409 archived, 422 off-schema', async () => {
    const id = 'acr_nonexistent0000000000000000';
    const json = (path: string) =>
      warden.request.post(path).set(broker.requester.auth).set('Content-Type', 'application/json').send('{"project_id":');
    for (const path of ['/api/v1/requests', '/api/v1/requests/read']) {
      assert.equal((await json(path).expect(400)).body.code, 'MALFORMED_JSON');
      await warden.request.post(path).send(readRequestBody(broker)).expect(401);
    }
    await warden.request.get(`/api/v1/requests/${id}`).expect(401);
    for (const verb of ['approve', 'reject', 'cancel']) {
      await warden.request.post(`/api/v1/requests/not-an-id/${verb}`).set(broker.approvers[0].auth).send({}).expect(400);
      await warden.request.post(`/api/v1/requests/${id}/${verb}`).send({}).expect(401);
    }
    await warden.request.post(`/api/v1/requests/${id}/approve`).set(broker.approvers[0].auth).send({ approver_id: 7 }).expect(422);
    await warden.request
      .post(`/api/v1/requests/${id}/reject`)
      .set(broker.approvers[0].auth)
      .send({ approver_id: broker.approvers[0].id })
      .expect(422);
    const unknown = await decide(id, 'reject', broker.approvers[0]).expect(404);
    assert.equal(unknown.body.code, 'REQUEST_NOT_FOUND');

    const patch = (as: Record<string, string>, extra: Record<string, unknown>, value = 'x') =>
      warden.request
        .post('/api/v1/requests')
        .set(as)
        .send({ ...readRequestBody(broker, extra), value });
    assert.equal((await patch(broker.owner, {}).expect(403)).body.code, 'USER_REQUIRED');
    const noSecret = await patch(broker.requester.auth, { secret: { secret_id: 'sec_nonexistent0000000000000000' } }).expect(404);
    assert.equal(noSecret.body.code, 'SECRET_NOT_FOUND');
    const archived = await warden.request
      .post('/api/v1/requests')
      .set(other.requester.auth)
      .send({ ...readRequestBody(other), value: 'x' });
    assert.equal(archived.status, 409);
    assert.equal(archived.body.code, 'PROJECT_ARCHIVED');
  });
  it('the environment is vouched for by the secret: a named "dev" never unlocks a production secret', async () => {
    const victim = await setUpBroker(warden, 'Environment org');
    const agent = await createWireAgent(warden, victim, 'agent-env');
    const secret = (ref: string, labels: Record<string, string>) => ({ ...SECRET_REF, ref: `payments/${ref}`, labels });
    await warden.request
      .post(`/api/v1/agents/${agent.id}/secrets/bulk`)
      .set(agent.auth)
      .send({
        secrets: [
          secret('prod-db', { app: 'payments', environment: 'production' }),
          secret('unlabelled', { app: 'payments' }),
          secret('dev-db', { app: 'payments', env: 'DEV' }),
        ],
      })
      .expect(200);
    await createWorkflow(warden, victim, { auto_approve: true, match: { environment_names: ['dev'] } });
    // Members no longer make environments; the attacker picks one an admin made.
    const denied = await warden.request
      .post('/api/v1/environments')
      .set(victim.requester.auth)
      .send({ project_id: victim.projectId, name: 'dev' })
      .expect(403);
    assert.match(denied.body.message, /'environment\.edit'/);
    const dev = await warden.request
      .post('/api/v1/environments')
      .set(victim.owner)
      .send({ project_id: victim.projectId, name: 'dev' })
      .expect(201);
    const ask = (ref: string) =>
      warden.request
        .post('/api/v1/requests/read')
        .set(victim.requester.auth)
        .send(readRequestBody(victim, { environment_id: dev.body.id, secret: { ...SECRET_REF, ref: `payments/${ref}` } }));

    const attack = await ask('prod-db').expect(422);
    assert.equal(attack.body.code, 'ENVIRONMENT_MISMATCH');
    const [{ n }] = await warden.database.dataSource.query('SELECT count(*)::int AS n FROM access_requests WHERE org_id = $1', [
      victim.org.id,
    ]);
    assert.equal(n, 0, 'nothing was recorded, no job queued');
    const patch = await warden.request
      .post('/api/v1/requests')
      .set(victim.requester.auth)
      .send({ ...readRequestBody(victim, { environment_id: dev.body.id, secret: { ...SECRET_REF, ref: 'payments/prod-db' } }), value: 'x' })
      .expect(422);
    assert.equal(patch.body.code, 'ENVIRONMENT_MISMATCH');

    // No environment label: the named environment is unverified and earns no environment-matched auto-approval.
    const unverified = await ask('unlabelled').expect(201);
    assert.equal(unverified.body.status, 'pending');
    assert.equal(unverified.body.workflow_id, null);
    assert.equal(unverified.body.required_approvals, 1);
    assert.equal(unverified.body.job_id, null);

    // A label that names the environment (in any case) vouches for it: the dev workflow auto-approves.
    const vouched = await ask('dev-db').expect(201);
    assert.equal(vouched.body.status, 'approved');
    assert.equal(vouched.body.required_approvals, 0);
    assert.match(vouched.body.job_id, /^job_/);
  });
});
