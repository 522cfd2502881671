import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agentIdentity } from './support/agents';
import { createOrg, createUserAndLogin, dumpDatabase, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

interface Tenant {
  org: TestOrg;
  user: { id: string; token: string };
  workspaceId: string;
  apiKeyId: string;
  environmentId: string;
  agentId: string;
  sekuireId: string;
  installationId: string;
  roleId: string;
  userRoleId: string;
}

describe('tenant isolation: a credential of org A never reads, lists or changes org B', () => {
  let warden: TestApp;
  let a: Tenant;
  let b: Tenant;

  async function tenant(name: string): Promise<Tenant> {
    const org = await createOrg(warden, 'enterprise', name);
    const auth = { 'X-API-Key': org.key };
    const user = await createUserAndLogin(warden, org, `${name.toLowerCase()}@example.com`, 'admin');
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(auth).send({ name: 'Shared name' }).expect(201);
    await warden.request
      .put(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}/members/${user.id}`)
      .set(auth)
      .send({ role: 'member' })
      .expect(200);
    const key = await warden.request.post('/api/v1/api-keys').set(auth).send({ name: 'k' }).expect(201);
    const environment = await warden.request
      .post(`/api/v1/workspaces/${ws.body.id}/environments`)
      .set(auth)
      .send({ name: 'staging' })
      .expect(201);
    const agent = await warden.request.post('/api/v1/agents').set(auth).send({ name: 'agent' }).expect(201);
    const identity = agentIdentity();
    await warden.request
      .post('/api/v1/agents/register')
      .set(auth)
      .send({ sekuire_id: identity.sekuireId, name: 'registered', public_key: identity.publicKey })
      .expect(201);
    const installToken = await warden.request
      .post(`/api/v1/workspaces/${ws.body.id}/install-tokens`)
      .set(auth)
      .send({ agent_id: agent.body.id })
      .expect(201);
    const installation = await warden.request
      .post('/api/v1/installations/bootstrap')
      .send({ install_token: installToken.body.token })
      .expect(200);
    const role = await warden.request
      .post('/api/v1/roles')
      .set(auth)
      .send({ name: 'shared-role', permissions: ['user.read'] })
      .expect(201);
    const assignment = await warden.request
      .post('/api/v1/user-roles')
      .set(auth)
      .send({ user_id: user.id, role_id: role.body.id })
      .expect(201);
    return {
      org,
      user,
      workspaceId: ws.body.id,
      apiKeyId: key.body.id,
      environmentId: environment.body.id,
      agentId: agent.body.id,
      sekuireId: identity.sekuireId,
      installationId: installation.body.installation_id,
      roleId: role.body.id,
      userRoleId: assignment.body.id,
    };
  }

  /** Every row but the rate-limit counters: a refused request still counts against its caller's limits. */
  const orgData = async () =>
    (await dumpDatabase(warden))
      .split('\n')
      .filter((line) => !line.startsWith('rate_limit_hits:'))
      .join('\n');

  before(async () => {
    warden = await startTestApp();
    a = await tenant('Alpha');
    b = await tenant('Beta');
  });
  after(() => warden.close());

  for (const credential of ['api key', 'login JWT'] as const) {
    it(`with A's ${credential}: every B object by id is 404, exactly as a missing one`, async () => {
      const auth = credential === 'api key' ? { 'X-API-Key': a.org.key } : { Authorization: `Bearer ${a.user.token}` };
      const before = await orgData();
      const ws = `/api/v1/orgs/${b.org.id}/workspaces`;
      const attempts = [
        warden.request.get(ws).set(auth),
        warden.request.post(ws).set(auth).send({ name: 'intruder' }),
        warden.request.get(`${ws}/${b.workspaceId}`).set(auth),
        warden.request.put(`${ws}/${b.workspaceId}`).set(auth).send({ name: 'pwned' }),
        warden.request.delete(`${ws}/${b.workspaceId}`).set(auth),
        warden.request.get(`${ws}/${b.workspaceId}/members`).set(auth),
        warden.request.put(`${ws}/${b.workspaceId}/members/${a.user.id}`).set(auth).send({ role: 'admin' }),
        warden.request.delete(`${ws}/${b.workspaceId}/members/${b.user.id}`).set(auth),
        // B's workspace under A's own org id.
        warden.request.get(`/api/v1/orgs/${a.org.id}/workspaces/${b.workspaceId}`).set(auth),
        warden.request.put(`/api/v1/orgs/${a.org.id}/workspaces/${a.workspaceId}/members/${b.user.id}`).set(auth).send({ role: 'admin' }),
        warden.request.get(`/api/v1/workspaces/${b.workspaceId}/environments`).set(auth),
        warden.request.post(`/api/v1/workspaces/${b.workspaceId}/environments`).set(auth).send({ name: 'intruder' }),
        warden.request.delete(`/api/v1/workspaces/${b.workspaceId}/environments/${b.environmentId}`).set(auth),
        warden.request.delete(`/api/v1/workspaces/${a.workspaceId}/environments/${b.environmentId}`).set(auth),
        warden.request.get(`/api/v1/agents/${b.agentId}`).set(auth),
        warden.request.get(`/api/v1/agents/${b.agentId}/verify`).set(auth),
        warden.request.post(`/api/v1/agents/${b.agentId}/revoke`).set(auth),
        warden.request.post(`/api/v1/agents/${b.agentId}/enable`).set(auth),
        warden.request.post(`/api/v1/kill-switch/${b.agentId}`).set(auth).send({ reason: 'x' }),
        warden.request.post('/api/v1/agents').set(auth).send({ org_id: b.org.id, name: 'intruder' }),
        warden.request.post('/api/v1/agents').set(auth).send({ name: 'intruder', workspace_id: b.workspaceId }),
        warden.request.post(`/api/v1/workspaces/${b.workspaceId}/install-tokens`).set(auth).send({ agent_id: a.agentId }),
        warden.request.post(`/api/v1/workspaces/${a.workspaceId}/install-tokens`).set(auth).send({ agent_id: b.agentId }),
        warden.request.post('/api/v1/installations/recovery').set(auth).send({ agent_id: b.agentId, workspace_id: b.workspaceId }),
        warden.request.post('/api/v1/installations/recovery').set(auth).send({ agent_id: b.agentId, workspace_id: a.workspaceId }),
        warden.request.post(`/api/v1/installations/${b.installationId}/beacon/register`).set(auth).send({ platform: 'docker' }),
        warden.request.post(`/api/v1/installations/${b.installationId}/revoke`).set(auth).send({ reason: 'x' }),
        warden.request.get(`/api/v1/agents/${b.sekuireId}`).set(auth),
        warden.request.get(`/api/v1/trust/profile/did:sekuire:${b.sekuireId}`).set(auth),
        warden.request
          .post('/api/v1/trust/verify')
          .set(auth)
          .send({ sekuire_id: b.sekuireId, signature: Buffer.alloc(64).toString('base64') }),
        warden.request
          .post('/api/v1/trust/headers')
          .set(auth)
          .send({ sekuire_id: b.sekuireId, request_body_hash: 'a'.repeat(64) }),
        warden.request.get(`/api/v1/users?org_id=${b.org.id}`).set(auth),
        warden.request.post('/api/v1/users').set(auth).send({ org_id: b.org.id, email: 'x@example.com', password: 'long enough password' }),
        warden.request.get(`/api/v1/users/${b.user.id}/roles`).set(auth),
        warden.request.delete(`/api/v1/api-keys/${b.apiKeyId}`).set(auth),
        warden.request.post(`/api/v1/api-keys/${b.apiKeyId}/roll`).set(auth),
        warden.request.get(`/api/v1/roles/${b.roleId}`).set(auth),
        warden.request
          .put(`/api/v1/roles/${b.roleId}/permissions`)
          .set(auth)
          .send({ permissions: ['user.read'] }),
        warden.request.delete(`/api/v1/roles/${b.roleId}`).set(auth),
        warden.request.post('/api/v1/user-roles').set(auth).send({ user_id: b.user.id, role_id: 'rol_viewer' }),
        warden.request.post('/api/v1/user-roles').set(auth).send({ user_id: a.user.id, role_id: b.roleId }),
        warden.request.delete(`/api/v1/user-roles/${b.userRoleId}`).set(auth),
        warden.request.get(`/api/v1/audit-logs?organization_id=${b.org.id}`).set(auth),
        warden.request.get(`/api/v1/audit/verify?organization_id=${b.org.id}`).set(auth),
        warden.request.get(`/api/v1/audit/export.jsonl?org_id=${b.org.id}`).set(auth),
        warden.request.get(`/api/v1/audit/export.csv?org_id=${b.org.id}`).set(auth),
        warden.request.put(`/api/v1/enterprise/orgs/${b.org.id}/retention`).set(auth).send({ audit_log_retention_days: 400 }),
        warden.request
          .post('/api/v1/audit-logs/siem/datadog/export')
          .set(auth)
          .send({ organization_id: b.org.id, api_key: 'k', intake_url: 'https://siem.example/' }),
        warden.request
          .post('/api/v1/audit-logs/siem/splunk/export')
          .set(auth)
          .send({ organization_id: b.org.id, hec_token: 't', intake_url: 'https://siem.example/' }),
        warden.request
          .post('/api/v1/audit-logs/siem/pagerduty/export')
          .set(auth)
          .send({ organization_id: b.org.id, routing_key: 'r', intake_url: 'https://siem.example/' }),
        warden.request.get(`/api/v1/agents/${b.agentId}/compliance/${b.workspaceId}/report`).set(auth),
        warden.request.get(`/api/v1/agents/${b.sekuireId}/compliance/${a.workspaceId}/report?format=markdown`).set(auth),
        warden.request.get(`/api/v1/agents/${a.agentId}/compliance/${b.workspaceId}/report`).set(auth),
      ];
      for (const [index, res] of (await Promise.all(attempts)).entries()) {
        assert.equal(res.status, 404, `attempt ${index}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error, 'not_found');
      }
      assert.equal(await orgData(), before, 'nothing of either org changed');
    });

    it(`with A's ${credential}: no list shows a B row`, async () => {
      const auth = credential === 'api key' ? { 'X-API-Key': a.org.key } : { Authorization: `Bearer ${a.user.token}` };
      const bIds = [b.org.id, b.user.id, b.workspaceId, b.apiKeyId, b.environmentId, b.agentId, b.sekuireId, b.roleId, b.userRoleId];
      const lists = await Promise.all([
        warden.request.get('/api/v1/orgs').set(auth).expect(200),
        warden.request.get('/api/v1/users?limit=200').set(auth).expect(200),
        warden.request.get(`/api/v1/orgs/${a.org.id}/workspaces?limit=200`).set(auth).expect(200),
        warden.request.get(`/api/v1/orgs/${a.org.id}/workspaces/${a.workspaceId}/members`).set(auth).expect(200),
        warden.request.get('/api/v1/api-keys?limit=200').set(auth).expect(200),
        warden.request.get(`/api/v1/workspaces/${a.workspaceId}/environments`).set(auth).expect(200),
        warden.request.get('/api/v1/roles').set(auth).expect(200),
        warden.request.get('/api/v1/agents?limit=200').set(auth).expect(200),
        warden.request.get('/api/v1/user-roles?limit=200').set(auth).expect(200),
        warden.request.get(`/api/v1/user-roles?user_id=${b.user.id}`).set(auth).expect(200),
      ]);
      for (const [index, res] of lists.entries()) {
        const text = JSON.stringify(res.body);
        for (const id of bIds) assert.ok(!text.includes(id), `list ${index} shows ${id}`);
      }
      const own = JSON.stringify(lists.map((res) => res.body));
      for (const id of [a.org.id, a.user.id, a.workspaceId, a.apiKeyId, a.environmentId, a.agentId, a.roleId, a.userRoleId])
        assert.ok(own.includes(id), `A's own ${id} is listed`);
    });
  }
});
