/**
 * GitOps (seed 002, behind GITOPS_ENABLED): Argo CD endpoints whose tokens are sealed at rest,
 * the applications Argo CD reports, which applications consume which secrets, and after a patch
 * what Warden saw of them, against a real Argo CD-shaped HTTP server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import { ARGOCD_CA, type ArgocdFixture, startArgocdFixture } from './support/argocd-fixture';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';
import { openTestDatabase, type TestDatabase } from './support/test-database';

const argocdToken = () =>
  `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${randomBytes(24).toString('base64url')}.${randomBytes(16).toString('base64url')}`;
const REQUEST_ID = 'acr_01jd4v3k8m2q6r9t1w5y7z0abc';
const SECRET = { clusterName: 'prod-eu-1', provider: 'kubernetes', ref: 'payments/db-password' };

/** A port nothing listens on: the Argo CD that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('gitops', () => {
  let database: TestDatabase;
  let warden: TestApp;
  let off: TestApp;
  let argocd: ArgocdFixture;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  let otherKey: { 'X-API-Key': string };
  const token = argocdToken();
  const tokens = [token];

  const createEndpoint = (body: Record<string, unknown>, credential: Record<string, string> = key) =>
    warden.request.post('/api/v1/argocd-endpoints').set(credential).send(body);
  const createMapping = (body: Record<string, unknown>, credential: Record<string, string> = key) =>
    warden.request.post('/api/v1/gitops-app-mappings').set(credential).send(body);
  const prodEndpoint = async (): Promise<{ id: string }> => {
    const { body } = await warden.request.get('/api/v1/argocd-endpoints').set(key).expect(200);
    return body.argocd_endpoints.find((endpoint: { name: string }) => endpoint.name === 'prod-argocd');
  };
  /** Records a completed patch as the access-requests module does: inside its transaction. */
  const observePatch = (requestId: string, appliedAt: Date, app: TestApp = warden, orgId = org.id) =>
    app.services.db.transaction(() => app.services.gitops.observePatch({ orgId, requestId, secret: SECRET, appliedAt }));

  before(async () => {
    database = await openTestDatabase();
    const defaults = loadConfig({});
    // 127.0.0.1 is loopback: only an allow-listed host may be; its certificate chains to OUTBOUND_CA_FILE.
    const outbound = { ...defaults.outbound, allowedHosts: ['127.0.0.1'], timeoutMs: 2000, retryBaseMs: 10, caFile: ARGOCD_CA };
    warden = await startTestApp({
      database,
      config: { encryptionKey: randomBytes(32), outbound, gitops: { enabled: true, observationWindowMinutes: 30, recheckSeconds: 0 } },
    });
    off = await startTestApp({ database, config: { encryptionKey: randomBytes(32), outbound, gitops: defaults.gitops } });
    argocd = await startArgocdFixture(
      token,
      {
        'payments-api': { project: 'payments', sync: 'Synced', health: 'Healthy' },
        ledger: { project: 'finance', sync: 'OutOfSync', health: 'Degraded' },
      },
      { tls: true },
    );
    org = await createOrg(warden, 'enterprise', 'GitOps org');
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
    otherKey = { 'X-API-Key': other.key };
  });
  after(async () => {
    await assertNoSecretAtRest(warden, tokens);
    assert.ok(!JSON.stringify(off.logs).includes(token));
    await argocd.close();
    await warden.close();
    await off.close();
    await database.close();
  });

  it('with GITOPS_ENABLED off every route is absent (404, before any credential check) and a patch records nothing', async () => {
    const routes: Array<[keyof TestApp['request'], string]> = [
      ['post', '/api/v1/argocd-endpoints'],
      ['get', '/api/v1/argocd-endpoints'],
      ['put', '/api/v1/argocd-endpoints/argo_0000000000/enabled'],
      ['delete', '/api/v1/argocd-endpoints/argo_0000000000'],
      ['get', '/api/v1/argocd-endpoints/argo_0000000000/discovered-apps'],
      ['post', '/api/v1/gitops-app-mappings'],
      ['get', '/api/v1/gitops-app-mappings'],
      ['delete', '/api/v1/gitops-app-mappings/gam_0000000000'],
      ['get', `/api/v1/requests/${REQUEST_ID}/gitops`],
    ];
    for (const [method, path] of routes) {
      for (const credential of [{}, key]) {
        const res = await off.request[method](path).set(credential).send({ enabled: true }).expect(404);
        assert.equal(res.body.code, 'ROUTE_NOT_FOUND', `${method} ${path}`);
      }
    }
    // Even with a mapping in the database (made while the flag was on), the flagged-off instance observes nothing.
    const endpoint = await createEndpoint({ name: 'flag-check', base_url: argocd.url, token }).expect(201);
    await createMapping({ argocd_endpoint_id: endpoint.body.id, app_name: 'payments-api', cluster_name: SECRET.clusterName }).expect(201);
    await observePatch('acr_flagoff000000', new Date(), off);
    const rows = await database.dataSource.query(`SELECT id FROM gitops_observations WHERE request_id = 'acr_flagoff000000'`);
    assert.deepEqual(rows, []);
    await warden.request.delete(`/api/v1/argocd-endpoints/${endpoint.body.id}`).set(key).expect(204);
  });

  it('POST /argocd-endpoints seals the token: never in the answer, the audit event or the row; GET lists without it', async () => {
    const res = await createEndpoint({ name: 'prod-argocd', base_url: `${argocd.url}/`, token }).expect(201);
    assert.match(res.body.id, /^argo_[0-9a-z]{26}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, created_at: undefined, updated_at: undefined },
      {
        id: undefined,
        org_id: org.id,
        name: 'prod-argocd',
        base_url: argocd.url,
        enabled: true,
        token_last_four: token.slice(-4),
        created_at: undefined,
        updated_at: undefined,
      },
    );
    const event = await theAuditEventOf(warden, res, [token]);
    assert.equal(event.action, 'argocd_endpoint.created');
    assert.equal(event.resource_id, res.body.id);
    const [row] = await database.dataSource.query(`SELECT token_ciphertext FROM argocd_endpoints WHERE id = $1`, [res.body.id]);
    assert.match(row.token_ciphertext, /^v1:dek_[0-9a-z]+:[A-Za-z0-9_-]+$/);

    const list = await warden.request.get('/api/v1/argocd-endpoints?limit=1').set(key).expect(200);
    assert.deepEqual(list.body.argocd_endpoints, [res.body]);
    assert.ok(!JSON.stringify(list.body).includes(token));
    const short = await createEndpoint({ name: 'short-token', base_url: argocd.url, token: 'abc' }).expect(201);
    assert.equal(short.body.token_last_four, null, 'four characters of a short token would give too much away');
    const page = await warden.request.get('/api/v1/argocd-endpoints?limit=1').set(key).expect(200);
    assert.equal(page.body.has_more, true);
    const next = await warden.request.get(`/api/v1/argocd-endpoints?limit=1&cursor=${page.body.next_cursor}`).set(key).expect(200);
    assert.equal(next.body.argocd_endpoints[0].id, res.body.id);
    await warden.request.get('/api/v1/argocd-endpoints?cursor=not*a*cursor').set(key).expect(400);
    await warden.request.delete(`/api/v1/argocd-endpoints/${short.body.id}`).set(key).expect(204);
  });

  it('refuses a base_url the outbound rules refuse (422), a name taken (409), bad bodies (422)', async () => {
    for (const [base_url, reason] of [
      ['https://10.0.0.7', /private/],
      ['https://169.254.169.254/latest', /link-local|metadata/],
      ['http://8.8.8.8', /https/],
      ['ftp://8.8.8.8', /https/],
      ['https://user:pass@8.8.8.8', /user name or password/],
      [`${argocd.url}?x=1`, /query/],
    ] as const) {
      const res = await createEndpoint({ name: 'bad', base_url, token }).expect(422);
      assert.equal(res.body.code, 'ARGOCD_URL_REFUSED', base_url);
      assert.match(res.body.message, reason);
    }
    const taken = await createEndpoint({ name: 'PROD-ARGOCD', base_url: argocd.url, token }).expect(409);
    assert.equal(taken.body.code, 'ARGOCD_ENDPOINT_NAME_TAKEN');
    await createEndpoint({ name: 'x', base_url: argocd.url, token, insecure: true }).expect(422);
    await createEndpoint({ name: 'x', base_url: argocd.url }).expect(422);
  });

  it('GET discovered-apps calls Argo CD with the bearer token and maps each Application', async () => {
    const endpoint = await prodEndpoint();
    argocd.set('payments-api', {
      sync: 'Synced',
      health: 'Healthy',
      reconciledAt: '2026-11-24T09:02:00Z',
      operation: { phase: 'Succeeded', startedAt: '2026-11-24T09:00:01Z', finishedAt: '2026-11-24T09:00:12Z' },
    });
    await createMapping({ argocd_endpoint_id: endpoint.id, app_name: 'payments-api', cluster_name: 'prod-eu-1' }).expect(201);
    argocd.requests.length = 0;
    const res = await warden.request.get(`/api/v1/argocd-endpoints/${endpoint.id}/discovered-apps`).set(key).expect(200);
    assert.deepEqual(
      argocd.requests.map((request) => [request.method, request.path, request.headers.authorization]),
      [['GET', '/api/v1/applications', `Bearer ${token}`]],
    );
    assert.equal(res.body.argocd_endpoint_id, endpoint.id);
    assert.deepEqual(res.body.applications, [
      {
        name: 'payments-api',
        namespace: 'argocd',
        project: 'payments',
        sync_status: 'Synced',
        health_status: 'Healthy',
        revision: '9f2c1e7b4a6d3f08e1c2b5a7d9e0f1a2b3c4d5e6',
        operation_phase: 'Succeeded',
        operation_finished_at: '2026-11-24T09:00:12Z',
        reconciled_at: '2026-11-24T09:02:00Z',
        destination: { server: 'https://kubernetes.default.svc', name: null, namespace: 'payments' },
        mapped: true,
      },
      {
        name: 'ledger',
        namespace: 'argocd',
        project: 'finance',
        sync_status: 'OutOfSync',
        health_status: 'Degraded',
        revision: '9f2c1e7b4a6d3f08e1c2b5a7d9e0f1a2b3c4d5e6',
        operation_phase: null,
        operation_finished_at: null,
        reconciled_at: '2026-11-24T09:00:00Z',
        destination: { server: 'https://kubernetes.default.svc', name: null, namespace: 'finance' },
        mapped: false,
      },
    ]);
    const member = await createUserAndLogin(warden, org, 'reader@gitops.example', 'member');
    await warden.request
      .get(`/api/v1/argocd-endpoints/${endpoint.id}/discovered-apps`)
      .set('Authorization', `Bearer ${member.token}`)
      .expect(200);
    const missing = await warden.request.get(`/api/v1/argocd-endpoints/${endpoint.id}/discovered-apps`).set(otherKey).expect(404);
    assert.equal(missing.body.code, 'ARGOCD_ENDPOINT_NOT_FOUND');
  });

  it('answers 502 when Argo CD is down, refuses the token or answers nonsense; 409 for a disabled endpoint', async () => {
    const down = await createEndpoint({ name: 'down', base_url: `https://127.0.0.1:${await closedPort()}`, token }).expect(201);
    const unreachable = await warden.request.get(`/api/v1/argocd-endpoints/${down.body.id}/discovered-apps`).set(key).expect(502);
    assert.equal(unreachable.body.code, 'ARGOCD_UNREACHABLE');
    assert.ok(!JSON.stringify(unreachable.body).includes(token));

    const wrong = argocdToken();
    tokens.push(wrong);
    const refused = await createEndpoint({ name: 'wrong-token', base_url: argocd.url, token: wrong }).expect(201);
    const failed = await warden.request.get(`/api/v1/argocd-endpoints/${refused.body.id}/discovered-apps`).set(key).expect(502);
    assert.equal(failed.body.code, 'ARGOCD_REQUEST_FAILED');
    assert.match(failed.body.message, /HTTP 401/);

    // A base path that is not Argo CD's API: the fixture's 404 for an unknown route.
    const elsewhere = await createEndpoint({ name: 'elsewhere', base_url: `${argocd.url}/not-argocd`, token }).expect(201);
    const notArgo = await warden.request.get(`/api/v1/argocd-endpoints/${elsewhere.body.id}/discovered-apps`).set(key).expect(502);
    assert.equal(notArgo.body.code, 'ARGOCD_REQUEST_FAILED');

    const disabled = await warden.request
      .put(`/api/v1/argocd-endpoints/${down.body.id}/enabled`)
      .set(key)
      .send({ enabled: false })
      .expect(200);
    assert.equal(disabled.body.enabled, false);
    const event = await theAuditEventOf(warden, disabled, [token]);
    assert.equal(event.action, 'argocd_endpoint.updated');
    assert.deepEqual(event.details.before, { enabled: true });
    const conflict = await warden.request.get(`/api/v1/argocd-endpoints/${down.body.id}/discovered-apps`).set(key).expect(409);
    assert.equal(conflict.body.code, 'ARGOCD_ENDPOINT_DISABLED');
    await warden.request.put(`/api/v1/argocd-endpoints/${down.body.id}/enabled`).set(key).send({ enabled: 'no' }).expect(422);
    for (const id of [down.body.id, refused.body.id, elsewhere.body.id]) {
      await warden.request.delete(`/api/v1/argocd-endpoints/${id}`).set(key).expect(204);
    }
  });

  it('mappings: create, list (by endpoint), duplicate 409, unknown endpoint 404, bad name 422, delete', async () => {
    const endpoint = await prodEndpoint();
    const body = {
      argocd_endpoint_id: endpoint.id,
      app_name: 'ledger',
      cluster_name: 'prod-eu-1',
      provider: 'vault',
      ref_prefix: 'finance/',
    };
    const res = await createMapping(body).expect(201);
    assert.match(res.body.id, /^gam_[0-9a-z]{26}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, created_at: undefined },
      { ...body, id: undefined, org_id: org.id, created_at: undefined },
    );
    assert.equal((await theAuditEventOf(warden, res)).action, 'gitops_app_mapping.created');
    assert.equal((await createMapping(body).expect(409)).body.code, 'GITOPS_APP_MAPPING_EXISTS');
    await createMapping({ ...body, ref_prefix: 'finance/ledger/' }).expect(201);
    await createMapping({ ...body, app_name: 'Not_A_Name' }).expect(422);
    const unknown = await createMapping({ ...body, argocd_endpoint_id: 'argo_0000000000' }).expect(404);
    assert.equal(unknown.body.code, 'ARGOCD_ENDPOINT_NOT_FOUND');

    const listed = await warden.request.get(`/api/v1/gitops-app-mappings?argocd_endpoint_id=${endpoint.id}`).set(key).expect(200);
    assert.deepEqual(
      listed.body.gitops_app_mappings.map((mapping: { app_name: string; ref_prefix: string | null }) => [
        mapping.app_name,
        mapping.ref_prefix,
      ]),
      [
        ['ledger', 'finance/ledger/'],
        ['ledger', 'finance/'],
        ['payments-api', null],
      ],
    );
    const none = await warden.request.get('/api/v1/gitops-app-mappings?argocd_endpoint_id=argo_0000000000').set(key).expect(200);
    assert.deepEqual(none.body.gitops_app_mappings, []);

    const removed = await warden.request.delete(`/api/v1/gitops-app-mappings/${res.body.id}`).set(key).expect(204);
    const event = await theAuditEventOf(warden, removed);
    assert.equal(event.action, 'gitops_app_mapping.deleted');
    assert.equal((event.details.before as { app_name: string }).app_name, 'ledger');
    const again = await warden.request.delete(`/api/v1/gitops-app-mappings/${res.body.id}`).set(key).expect(404);
    assert.equal(again.body.code, 'GITOPS_APP_MAPPING_NOT_FOUND');
  });

  it("keeps orgs apart: another org sees none of this org's endpoints or mappings and can change none (404)", async () => {
    const endpoint = await prodEndpoint();
    const mapping = (await warden.request.get('/api/v1/gitops-app-mappings').set(key).expect(200)).body.gitops_app_mappings[0];
    assert.deepEqual((await warden.request.get('/api/v1/argocd-endpoints').set(otherKey).expect(200)).body.argocd_endpoints, []);
    assert.deepEqual((await warden.request.get('/api/v1/gitops-app-mappings').set(otherKey).expect(200)).body.gitops_app_mappings, []);
    await warden.request.put(`/api/v1/argocd-endpoints/${endpoint.id}/enabled`).set(otherKey).send({ enabled: false }).expect(404);
    await warden.request.delete(`/api/v1/argocd-endpoints/${endpoint.id}`).set(otherKey).expect(404);
    await warden.request.delete(`/api/v1/gitops-app-mappings/${mapping.id}`).set(otherKey).expect(404);
    const foreign = await createMapping({ argocd_endpoint_id: endpoint.id, app_name: 'payments-api', cluster_name: 'x' }, otherKey).expect(
      404,
    );
    assert.equal(foreign.body.code, 'ARGOCD_ENDPOINT_NOT_FOUND');
    // A patch in the other org on the same cluster name observes nothing of this org's.
    await observePatch(REQUEST_ID, new Date(), warden, other.id);
    assert.deepEqual(await warden.services.gitops.refreshedObservations(other.id, REQUEST_ID), []);
  });

  it('needs integration.edit to change (403) and a credential to read (401); members read', async () => {
    const member = await createUserAndLogin(warden, org, 'member@gitops.example', 'member');
    const bearer = { Authorization: `Bearer ${member.token}` };
    const endpoint = await prodEndpoint();
    await warden.request.get('/api/v1/argocd-endpoints').set(bearer).expect(200);
    const mapping = (await warden.request.get('/api/v1/gitops-app-mappings').set(bearer).expect(200)).body.gitops_app_mappings[0];
    const denied = await createEndpoint({ name: 'nope', base_url: argocd.url, token }, bearer).expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    assert.match(denied.body.message, /integration\.edit/);
    await warden.request.put(`/api/v1/argocd-endpoints/${endpoint.id}/enabled`).set(bearer).send({ enabled: false }).expect(403);
    await warden.request.delete(`/api/v1/argocd-endpoints/${endpoint.id}`).set(bearer).expect(403);
    await createMapping({ argocd_endpoint_id: endpoint.id, app_name: 'x', cluster_name: 'x' }, bearer).expect(403);
    await warden.request.delete(`/api/v1/gitops-app-mappings/${mapping.id}`).set(bearer).expect(403);
    for (const path of [
      '/api/v1/argocd-endpoints',
      `/api/v1/argocd-endpoints/${endpoint.id}/discovered-apps`,
      '/api/v1/gitops-app-mappings',
      `/api/v1/requests/${REQUEST_ID}/gitops`,
    ]) {
      await warden.request.get(path).expect(401);
    }
    await warden.request.post('/api/v1/argocd-endpoints').send({}).expect(401);
    await warden.request.get('/api/v1/argocd-endpoints?limit=0').set(bearer).expect(400);
    await warden.request.get('/api/v1/gitops-app-mappings?limit=0').set(bearer).expect(400);
  });

  it('answers 400 for a malformed id or parameter, 401 without a credential, 403 to a key without integration.read', async () => {
    const limited = await warden.services.apiKeys.insert({
      orgId: org.id,
      createdBy: null,
      name: 'agents only',
      description: '',
      mode: 'live',
      permissions: ['agent.read'],
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    const limitedKey = { 'X-API-Key': limited.key };
    for (const path of [
      '/api/v1/argocd-endpoints',
      '/api/v1/gitops-app-mappings',
      '/api/v1/argocd-endpoints/argo_0000000000/discovered-apps',
    ]) {
      const res = await warden.request.get(path).set(limitedKey).expect(403);
      assert.match(res.body.message, /integration\.read/);
    }
    await warden.request.put('/api/v1/argocd-endpoints/not-an-id/enabled').set(key).send({ enabled: true }).expect(400);
    await warden.request.delete('/api/v1/argocd-endpoints/not-an-id').set(key).expect(400);
    await warden.request.delete('/api/v1/gitops-app-mappings/not-an-id').set(key).expect(400);
    await warden.request.get('/api/v1/argocd-endpoints/not-an-id/discovered-apps').set(key).expect(400);
    await warden.request.get('/api/v1/requests/not-an-id/gitops').set(key).expect(400);
    await warden.request.post('/api/v1/argocd-endpoints').set(key).set('Content-Type', 'application/json').send('{"name":').expect(400);
    await warden.request
      .post('/api/v1/gitops-app-mappings')
      .set(key)
      .set('Content-Type', 'application/json')
      .send('{"app_name":')
      .expect(400);
    await warden.request.put('/api/v1/argocd-endpoints/argo_0000000000/enabled').send({ enabled: true }).expect(401);
    await warden.request.delete('/api/v1/argocd-endpoints/argo_0000000000').expect(401);
    await warden.request.post('/api/v1/gitops-app-mappings').send({}).expect(401);
    await warden.request.delete('/api/v1/gitops-app-mappings/gam_0000000000').expect(401);
  });

  it('on a real Postgres without WARDEN_ENCRYPTION_KEY: 503 ENCRYPTION_KEY_MISSING to store a token, as for vendor keys', async (t) => {
    if (database.embedded) {
      t.skip('the embedded database generates a key into its data directory');
      return;
    }
    const keyless = await startTestApp({
      database,
      config: { encryptionKey: undefined, gitops: { enabled: true, observationWindowMinutes: 30, recheckSeconds: 0 } },
    });
    const secret = argocdToken();
    tokens.push(secret);
    const res = await keyless.request
      .post('/api/v1/argocd-endpoints')
      .set(key)
      .send({ name: 'keyless', base_url: 'https://1.1.1.1', token: secret })
      .expect(503);
    assert.equal(res.body.code, 'ENCRYPTION_KEY_MISSING');
    assert.ok(!JSON.stringify(keyless.logs).includes(secret));
    await keyless.close();
  });

  it('observes a patch: pending in the patch transaction (no call out), then OutOfSync → Synced/Progressing → Synced/Healthy', async () => {
    const endpoint = await prodEndpoint();
    // Mappings that must not match: another cluster, another ref prefix, a disabled endpoint.
    await createMapping({ argocd_endpoint_id: endpoint.id, app_name: 'ledger', cluster_name: 'prod-us-1' }).expect(201);
    await createMapping({ argocd_endpoint_id: endpoint.id, app_name: 'ledger', cluster_name: 'prod-eu-1', ref_prefix: 'billing/' }).expect(
      201,
    );
    const disabled = await createEndpoint({ name: 'disabled', base_url: argocd.url, token }).expect(201);
    await createMapping({ argocd_endpoint_id: disabled.body.id, app_name: 'payments-api', cluster_name: 'prod-eu-1' }).expect(201);
    await warden.request.put(`/api/v1/argocd-endpoints/${disabled.body.id}/enabled`).set(key).send({ enabled: false }).expect(200);
    // Two mappings naming the same application (any ref, and the payments/ prefix) make one observation.
    await createMapping({
      argocd_endpoint_id: endpoint.id,
      app_name: 'payments-api',
      cluster_name: 'prod-eu-1',
      ref_prefix: 'payments/',
    }).expect(201);

    const appliedAt = new Date(Date.now() - 1000);
    argocd.requests.length = 0;
    await observePatch(REQUEST_ID, appliedAt);
    await observePatch(REQUEST_ID, appliedAt);
    assert.equal(argocd.requests.length, 0, 'recording makes no call to Argo CD');
    const recorded = await database.dataSource.query(
      `SELECT app_name, state, argocd_endpoint_id FROM gitops_observations WHERE request_id = $1`,
      [REQUEST_ID],
    );
    assert.deepEqual(recorded, [{ app_name: 'payments-api', state: 'pending', argocd_endpoint_id: endpoint.id }]);

    const look = async () => {
      const [observation] = await warden.services.gitops.refreshedObservations(org.id, REQUEST_ID);
      return observation!;
    };
    argocd.set('payments-api', { sync: 'OutOfSync', health: 'Healthy', reconciledAt: new Date().toISOString() });
    const first = await look();
    assert.equal(first.state, 'observing');
    assert.deepEqual(
      argocd.requests.map((request) => [request.path, request.headers.authorization]),
      [['/api/v1/applications/payments-api', `Bearer ${token}`]],
    );
    argocd.set('payments-api', {
      sync: 'Synced',
      health: 'Progressing',
      operation: { phase: 'Running', startedAt: new Date().toISOString() },
    });
    assert.equal((await look()).state, 'observing');
    argocd.set('payments-api', {
      sync: 'Synced',
      health: 'Progressing',
      operation: { phase: 'Running', startedAt: new Date().toISOString() },
    });
    assert.equal((await look()).transitions.length, 2, 'an unchanged status adds no transition');
    const finishedAt = new Date().toISOString();
    argocd.set('payments-api', { sync: 'Synced', health: 'Healthy', operation: { phase: 'Succeeded', startedAt: finishedAt, finishedAt } });
    const settled = await look();
    assert.equal(settled.state, 'synced');
    assert.deepEqual(
      settled.transitions.map((transition) => [transition.sync_status, transition.health_status]),
      [
        ['OutOfSync', 'Healthy'],
        ['Synced', 'Progressing'],
        ['Synced', 'Healthy'],
      ],
    );
    const times = settled.transitions.map((transition) => Date.parse(transition.observed_at));
    assert.ok(times[0]! >= appliedAt.getTime() && times[0]! <= times[1]! && times[1]! <= times[2]!);
    assert.equal(settled.settled_at?.toISOString(), settled.transitions[2]!.observed_at);
    const calls = argocd.requests.length;
    assert.equal((await look()).state, 'synced');
    assert.equal(argocd.requests.length, calls, 'a settled observation is not asked about again');
  });

  it('times out when the application shows no sign of the patch within the window; records why a look failed', async () => {
    const endpoint = await prodEndpoint();
    // Synced and Healthy, but compared before the patch: not evidence that Argo CD took it in.
    argocd.set('payments-api', { sync: 'Synced', health: 'Healthy', reconciledAt: '2026-01-01T00:00:00Z' });
    await observePatch('acr_late0000000000', new Date(Date.now() - 10 * 60_000));
    const [open] = await warden.services.gitops.refreshedObservations(org.id, 'acr_late0000000000');
    assert.equal(open!.state, 'observing');
    await observePatch('acr_stale000000000', new Date(Date.now() - 31 * 60_000));
    const [late] = await warden.services.gitops.refreshedObservations(org.id, 'acr_stale000000000');
    assert.equal(late!.state, 'timed_out');
    assert.ok(late!.settled_at);

    await warden.request.put(`/api/v1/argocd-endpoints/${endpoint.id}/enabled`).set(key).send({ enabled: false }).expect(200);
    const [disabled] = await warden.services.gitops.refreshedObservations(org.id, 'acr_late0000000000');
    assert.equal(disabled!.last_error, 'the Argo CD endpoint is disabled');
    assert.equal(disabled!.state, 'observing');
    await warden.request.put(`/api/v1/argocd-endpoints/${endpoint.id}/enabled`).set(key).send({ enabled: true }).expect(200);
  });

  it('GET /requests/{id}/gitops: ?user_id= must be the caller (403); 404 while access requests are not wired in', async () => {
    const member = await createUserAndLogin(warden, org, 'requester@gitops.example', 'member');
    const bearer = { Authorization: `Bearer ${member.token}` };
    const mismatch = await warden.request.get(`/api/v1/requests/${REQUEST_ID}/gitops?user_id=usr_someoneelse0000`).set(bearer).expect(403);
    assert.equal(mismatch.body.code, 'ACTOR_MISMATCH');
    const absent = await warden.request.get(`/api/v1/requests/${REQUEST_ID}/gitops?user_id=${member.id}`).set(bearer).expect(404);
    assert.equal(absent.body.code, 'ROUTE_NOT_FOUND');
  });

  it('DELETE /argocd-endpoints/{id} erases the token and the mappings; recorded observations stay', async () => {
    const endpoint = await prodEndpoint();
    const res = await warden.request.delete(`/api/v1/argocd-endpoints/${endpoint.id}`).set(key).expect(204);
    const event = await theAuditEventOf(warden, res, [token]);
    assert.equal(event.action, 'argocd_endpoint.deleted');
    assert.equal((event.details.before as { name: string }).name, 'prod-argocd');
    assert.deepEqual(await database.dataSource.query(`SELECT id FROM argocd_endpoints WHERE id = $1`, [endpoint.id]), []);
    assert.deepEqual(
      await database.dataSource.query(`SELECT id FROM gitops_app_mappings WHERE argocd_endpoint_id = $1`, [endpoint.id]),
      [],
    );
    const again = await warden.request.delete(`/api/v1/argocd-endpoints/${endpoint.id}`).set(key).expect(404);
    assert.equal(again.body.code, 'ARGOCD_ENDPOINT_NOT_FOUND');
    const [kept] = await warden.services.gitops.refreshedObservations(org.id, 'acr_late0000000000');
    assert.equal(kept!.last_error, 'the Argo CD endpoint was deleted');
    const [synced] = await warden.services.gitops.refreshedObservations(org.id, REQUEST_ID);
    assert.equal(synced!.state, 'synced');
  });
});
