import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import { openDatabase } from '../src/db/database';
import { createGatewayKey, createGovernedAgent, createPolicy, createVendor, policyBody } from './support/governance';
import { type HttpReceiver, startHttpReceiver, status } from './support/http-receiver';
import { createOrg, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';
import { serverUrl, type TestDatabase } from './support/test-database';

/**
 * The gateway keeps gateway keys, agents' governance and vendors' credentials in memory between
 * calls. Each case first makes a call through the `caller` instance (so it remembers everything),
 * then changes something through the `writer` instance's API, and expects the caller's very next
 * call to be governed by the change: on one instance, and with two instances on one real Postgres
 * (where nothing tells the caller about the change but the database its one statement reads).
 */
function invalidationCases(
  setup: () => { writer: () => TestApp; caller: () => TestApp; vendorApi: () => HttpReceiver; org: () => TestOrg },
) {
  const { writer, caller, vendorApi, org } = setup();

  /** A fresh agent under one allowing policy, a vendor on the receiver and the agent's key for it; one call made already. */
  async function governed() {
    const policy = await createPolicy(writer(), org(), { max_cost_per_request: 5 });
    const agent = await createGovernedAgent(writer(), org(), { policy_ids: [policy.id], daily_budget: 100 });
    const vendor = await createVendor(writer(), org(), vendorApi().url('/api'));
    const key = await createGatewayKey(writer(), org(), agent.id, vendor.id);
    const call = () =>
      caller()
        .request.get(`/api/v1/gateway/${vendor.id}/v1/chat`)
        .set('Authorization', `Bearer ${key.key}`)
        .set('X-Warden-Cost-Usd', '0.01');
    const manage = (method: 'post' | 'put' | 'delete', path: string) => writer().request[method](path).set('X-API-Key', org().key);
    vendorApi().reset();
    vendorApi().reply(...Array.from({ length: 10 }, () => status(200)));
    await call().expect(200);
    return { policy, agent, vendor, key, call, manage };
  }

  it('a kill switch stops the next call, and lifting it lets the next one through', async () => {
    const { agent, call, manage } = await governed();
    await manage('post', `/api/v1/kill-switch/${agent.id}`).expect(200);
    const killed = await call().expect(403);
    assert.equal(killed.body.code, 'GATEWAY_KEY_AGENT_STOPPED');
    await manage('post', `/api/v1/agents/${agent.id}/enable`).expect(200);
    await call().expect(200);
    assert.equal(vendorApi().requests.length, 2, 'the call refused while killed never reached the vendor');
  });

  it('a revoked key is refused on its next call', async () => {
    const { key, call, manage } = await governed();
    await manage('delete', `/api/v1/keys/${key.id}`).expect(200);
    assert.equal((await call().expect(401)).body.code, 'CREDENTIAL_REVOKED');
    assert.equal(vendorApi().requests.length, 1);
  });

  it("a rotated vendor credential is the one the next call carries; a deleted vendor's key is refused", async () => {
    const { vendor, key, call, manage } = await governed();
    await manage('post', `/api/v1/vendors/${vendor.id}/rotate-credential`).send({ api_key: 'rotated-secret-9876543210' }).expect(200);
    await call().expect(200);
    assert.deepEqual(
      vendorApi().requests.map((request) => request.headers.authorization),
      ['Bearer vendor-secret-0123456789', 'Bearer rotated-secret-9876543210'],
    );
    await manage('delete', `/api/v1/vendors/${vendor.id}`).expect(204);
    assert.equal((await call().expect(403)).body.code, 'GATEWAY_KEY_VENDOR_DELETED');
    const asked = await caller()
      .request.post('/api/v1/decisions')
      .set('Authorization', `Bearer ${key.key}`)
      .send({ method: 'GET', path: '/v1/chat' })
      .expect(403);
    assert.equal(asked.body.code, 'GATEWAY_KEY_VENDOR_DELETED');
    assert.equal(vendorApi().requests.length, 2);
  });

  it('a policy change governs the next call, whether it now refuses or now allows', async () => {
    const { policy, agent, call, manage } = await governed();
    await manage('put', `/api/v1/policies/${policy.id}`)
      .send(policyBody({ name: 'no chat', denied_path_prefixes: ['/v1/chat'] }))
      .expect(200);
    const denied = await call().expect(403);
    assert.deepEqual([denied.body.deny_reason, denied.body.policy_version], ['path_denied', 2]);
    // The caller now remembers version 2, which refuses: the loosened version 3 must still be seen.
    await manage('put', `/api/v1/policies/${policy.id}`)
      .send(policyBody({ name: 'chat again' }))
      .expect(200);
    await call().expect(200);
    const decided = await caller()
      .request.post('/api/v1/decisions')
      .set('X-Agent-Secret', agent.secret)
      .send({ method: 'GET', path: '/v1/chat', cost_usd: 0.01 })
      .expect(200);
    assert.deepEqual([decided.body.decision, decided.body.policy_version], ['allow', 3]);
    await manage('put', `/api/v1/policies/${policy.id}`)
      .send(policyBody({ name: 'dear', max_cost_per_request: 0.001 }))
      .expect(200);
    const refused = await caller()
      .request.post('/api/v1/decisions')
      .set('X-Agent-Secret', agent.secret)
      .send({ method: 'GET', path: '/v1/chat', cost_usd: 0.01 })
      .expect(200);
    assert.deepEqual([refused.body.decision, refused.body.deny_reason, refused.body.policy_version], ['deny', 'cost_exceeds_max', 4]);
  });

  it("a change to the agent's policies or budget governs its next call", async () => {
    const { agent, call, manage } = await governed();
    const strict = await createPolicy(writer(), org(), { denied_path_prefixes: ['/v1'] });
    await manage('put', `/api/v1/agents/${agent.id}/policies`)
      .send({ policy_ids: [strict.id] })
      .expect(200);
    assert.equal((await call().expect(403)).body.policy_id, strict.id);
    const open = await createPolicy(writer(), org(), {});
    await manage('put', `/api/v1/agents/${agent.id}/policies`)
      .send({ policy_ids: [open.id] })
      .expect(200);
    await call().expect(200);
    await writer().database.dataSource.query(`UPDATE agents SET daily_budget = 0 WHERE id = $1`, [agent.id]);
    assert.equal((await call().expect(403)).body.code, 'BUDGET_EXCEEDED');
  });
}

const defaults = loadConfig({});
/** Both instances read the vendor credentials the other sealed: one key-encryption key. */
const sharedKey = randomBytes(32);
const config = () => ({
  encryptionKey: sharedKey,
  outbound: { ...defaults.outbound, allowedHosts: ['127.0.0.1'] },
});

describe('remembered gateway keys, governance and vendors are forgotten the moment they change: one instance', () => {
  let warden: TestApp;
  let vendorApi: HttpReceiver;
  let org: TestOrg;
  before(async () => {
    vendorApi = await startHttpReceiver();
    warden = await startTestApp({ config: config() });
    org = await createOrg(warden);
  });
  after(async () => {
    await vendorApi.close();
    await warden.close();
  });
  invalidationCases(() => ({ writer: () => warden, caller: () => warden, vendorApi: () => vendorApi, org: () => org }));
});

describe('remembered gateway keys, governance and vendors are forgotten the moment they change: two instances', {
  skip: serverUrl ? false : 'needs DATABASE_URL or TEST_DATABASE_URL',
}, () => {
  let writer: TestApp;
  let caller: TestApp;
  let second: TestDatabase;
  let vendorApi: HttpReceiver;
  let org: TestOrg;
  before(async () => {
    vendorApi = await startHttpReceiver();
    writer = await startTestApp({ config: config() });
    const schema = writer.database.schema!;
    second = { ...(await openDatabase({ kind: 'server', url: serverUrl!, poolSize: 4, schema }, { migrate: false })), schema };
    caller = await startTestApp({ config: config(), database: second });
    org = await createOrg(writer);
  });
  after(async () => {
    await vendorApi.close();
    await caller.close();
    await second.close();
    await writer.close();
  });
  invalidationCases(() => ({ writer: () => writer, caller: () => caller, vendorApi: () => vendorApi, org: () => org }));
});
