import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { newSecret } from '../src/auth/credentials';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

const BASE_URL = 'https://1.1.1.1/v1';

describe('gateway keys: one agent, one vendor, shown once, dead with its agent, its vendor or its revocation (seed 001)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  const handled: string[] = [];

  const agent = async (owner: TestOrg = org) => {
    const res = await warden.request
      .post('/api/v1/agents')
      .set({ 'X-API-Key': owner.key })
      .send({ name: `agent-${randomBytes(4).toString('hex')}` });
    assert.equal(res.status, 201);
    handled.push(res.body.agent_secret);
    return res.body as { id: string; agent_secret: string };
  };
  const vendor = async (owner: TestOrg = org) => {
    const apiKey = `vendor-${randomBytes(16).toString('hex')}`;
    handled.push(apiKey);
    const res = await warden.request
      .post('/api/v1/vendors')
      .set({ 'X-API-Key': owner.key })
      .send({ name: `vendor-${randomBytes(4).toString('hex')}`, base_url: BASE_URL, api_key: apiKey });
    assert.equal(res.status, 201);
    return res.body as { id: string };
  };
  const mint = async (agentId: string, vendorId: string) => {
    const res = await warden.request.post('/api/v1/keys').set(key).send({ agent_id: agentId, vendor_id: vendorId }).expect(201);
    handled.push(res.body.key);
    return res;
  };
  const current = (secret: string) => warden.request.get('/api/v1/keys/current').set('Authorization', `Bearer ${secret}`);

  before(async () => {
    warden = await startTestApp({ config: { encryptionKey: randomBytes(32) } });
    org = await createOrg(warden, 'enterprise', 'Keys org');
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /keys takes the seed body; the secret is shown once, stored as its SHA-256, never listed or audited', async () => {
    const [a, v] = [await agent(), await vendor()];
    const res = await mint(a.id, v.id);
    assert.match(res.body.key, /^sgk_[A-Za-z0-9]{38}$/);
    assert.match(res.body.id, /^gwk_[0-9a-z]{26}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, key: undefined, created_at: undefined },
      {
        id: undefined,
        key: undefined,
        created_at: undefined,
        org_id: org.id,
        agent_id: a.id,
        vendor_id: v.id,
        prefix: res.body.key.slice(0, 8),
        last_four: res.body.key.slice(-4),
        revoked_at: null,
      },
    );
    const event = await theAuditEventOf(warden, res, [res.body.key]);
    assert.equal(event.action, 'gateway_key.created');
    assert.equal(event.resource_id, res.body.id);
    const [row] = await warden.database.dataSource.query(`SELECT encode(secret_digest, 'hex') AS digest FROM gateway_keys WHERE id = $1`, [
      res.body.id,
    ]);
    assert.equal(row.digest, createHash('sha256').update(res.body.key).digest('hex'));
    const list = await warden.request.get('/api/v1/keys').set(key).expect(200);
    assert.ok(!JSON.stringify(list.body).includes(res.body.key));
    const { key: _shownOnce, ...listed } = res.body;
    assert.deepEqual(
      list.body.keys.find((entry: { id: string }) => entry.id === res.body.id),
      listed,
    );

    // The key authenticates as its agent, for its vendor: the gateway's face and the HTTP operation agree.
    assert.deepEqual(await warden.services.gatewayKeys.authenticate(res.body.key), {
      keyId: res.body.id,
      orgId: org.id,
      agentId: a.id,
      vendorId: v.id,
    });
    const self = await current(res.body.key).expect(200);
    assert.equal(self.body.id, res.body.id);
  });

  it('works only where an operation lists GatewayKey: elsewhere 403 CREDENTIAL_NOT_ACCEPTED; bad keys are 401', async () => {
    const minted = await mint((await agent()).id, (await vendor()).id);
    const elsewhere = await warden.request.get('/api/v1/vendors').set('Authorization', `Bearer ${minted.body.key}`).expect(403);
    assert.equal(elsewhere.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    await warden.request.post('/api/v1/keys').set('Authorization', `Bearer ${minted.body.key}`).send({}).expect(403);
    const a = await agent();
    const agentSecret = await current(a.agent_secret).expect(403);
    assert.equal(agentSecret.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    const apiKey = await warden.request.get('/api/v1/keys/current').set(key).expect(403);
    assert.equal(apiKey.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    const tampered = `${minted.body.key.slice(0, -7)}${minted.body.key.at(-7) === 'a' ? 'b' : 'a'}${minted.body.key.slice(-6)}`;
    assert.equal((await current(tampered).expect(401)).body.code, 'CREDENTIAL_MALFORMED');
    assert.equal((await current(newSecret('sgk')).expect(401)).body.code, 'CREDENTIAL_INVALID');
    await warden.request.get('/api/v1/keys/current').expect(401);
  });

  it('is dead while its agent is killed (until the kill switch lifts or expires) and once the agent is revoked', async () => {
    const a = await agent();
    const minted = await mint(a.id, (await vendor()).id);
    await warden.request.post(`/api/v1/kill-switch/${a.id}`).set(key).send({ reason: 'Runaway spend' }).expect(200);
    const killed = await current(minted.body.key).expect(403);
    assert.equal(killed.body.code, 'GATEWAY_KEY_AGENT_STOPPED');
    await assert.rejects(warden.services.gatewayKeys.authenticate(minted.body.key), { code: 'GATEWAY_KEY_AGENT_STOPPED', status: 403 });
    await warden.request.post(`/api/v1/agents/${a.id}/enable`).set(key).expect(200);
    await current(minted.body.key).expect(200);
    // A kill switch whose expires_at has passed has lifted itself.
    await warden.request
      .post(`/api/v1/kill-switch/${a.id}`)
      .set(key)
      .send({ reason: 'Cool off', expires_at: new Date(Date.now() + 60_000).toISOString() })
      .expect(200);
    await current(minted.body.key).expect(403);
    await warden.database.dataSource.query(`UPDATE agents SET disabled_until = now() - interval '1 second' WHERE id = $1`, [a.id]);
    await current(minted.body.key).expect(200);
    await warden.request.post(`/api/v1/agents/${a.id}/revoke`).set(key).expect(200);
    assert.equal((await current(minted.body.key).expect(403)).body.code, 'GATEWAY_KEY_AGENT_STOPPED');
    const forRevoked = await warden.request
      .post('/api/v1/keys')
      .set(key)
      .send({ agent_id: a.id, vendor_id: minted.body.vendor_id })
      .expect(409);
    assert.equal(forRevoked.body.code, 'AGENT_REVOKED');
  });

  it('is dead once its vendor is deleted (403) or it is revoked (401); revoking twice is a no-op', async () => {
    const v = await vendor();
    const minted = await mint((await agent()).id, v.id);
    const second = await mint((await agent()).id, v.id);
    const revoked = await warden.request.delete(`/api/v1/keys/${minted.body.id}`).set(key).expect(200);
    assert.ok(revoked.body.revoked_at);
    const event = await theAuditEventOf(warden, revoked);
    assert.equal(event.action, 'gateway_key.revoked');
    assert.deepEqual(event.details.before, { revoked_at: null });
    assert.equal((await current(minted.body.key).expect(401)).body.code, 'CREDENTIAL_REVOKED');
    const again = await warden.request.delete(`/api/v1/keys/${minted.body.id}`).set(key).expect(200);
    assert.equal(again.body.revoked_at, revoked.body.revoked_at);

    await current(second.body.key).expect(200);
    await warden.request.delete(`/api/v1/vendors/${v.id}`).set(key).expect(204);
    assert.equal((await current(second.body.key).expect(403)).body.code, 'GATEWAY_KEY_VENDOR_DELETED');
    const forDeleted = await warden.request
      .post('/api/v1/keys')
      .set(key)
      .send({ agent_id: second.body.agent_id, vendor_id: v.id })
      .expect(404);
    assert.equal(forDeleted.body.code, 'VENDOR_NOT_FOUND');
    const missing = await warden.request.delete('/api/v1/keys/gwk_0000000000000000000000000a').set(key).expect(404);
    assert.equal(missing.body.code, 'GATEWAY_KEY_NOT_FOUND');
  });

  it('GET /keys filters by agent and vendor and pages newest first', async () => {
    const [a, v1, v2] = [await agent(), await vendor(), await vendor()];
    const k1 = await mint(a.id, v1.id);
    const k2 = await mint(a.id, v2.id);
    const k3 = await mint((await agent()).id, v1.id);
    const ids = (res: { body: { keys: Array<{ id: string }> } }) => res.body.keys.map((listed) => listed.id);
    assert.deepEqual(ids(await warden.request.get(`/api/v1/keys?agent_id=${a.id}`).set(key).expect(200)), [k2.body.id, k1.body.id]);
    assert.deepEqual(ids(await warden.request.get(`/api/v1/keys?vendor_id=${v1.id}`).set(key).expect(200)), [k3.body.id, k1.body.id]);
    assert.deepEqual(ids(await warden.request.get(`/api/v1/keys?agent_id=${a.id}&vendor_id=${v2.id}`).set(key).expect(200)), [k2.body.id]);
    const page1 = await warden.request.get('/api/v1/keys?limit=2').set(key).expect(200);
    assert.deepEqual(ids(page1), [k3.body.id, k2.body.id]);
    assert.equal(page1.body.has_more, true);
    const page2 = await warden.request.get(`/api/v1/keys?limit=2&cursor=${page1.body.next_cursor}`).set(key).expect(200);
    assert.equal(ids(page2)[0], k1.body.id);
    await warden.request.get('/api/v1/keys?agent_id=nope').set(key).expect(400);
  });

  it("keeps tenants apart: another org's agent or vendor is 404, and its keys are invisible and unrevocable", async () => {
    const [mine, myVendor] = [await agent(), await vendor()];
    const [theirs, theirVendor] = [await agent(other), await vendor(other)];
    const minted = await mint(mine.id, myVendor.id);
    const withTheirAgent = await warden.request
      .post('/api/v1/keys')
      .set(key)
      .send({ agent_id: theirs.id, vendor_id: myVendor.id })
      .expect(404);
    assert.equal(withTheirAgent.body.code, 'AGENT_NOT_FOUND');
    const withTheirVendor = await warden.request
      .post('/api/v1/keys')
      .set(key)
      .send({ agent_id: mine.id, vendor_id: theirVendor.id })
      .expect(404);
    assert.equal(withTheirVendor.body.code, 'VENDOR_NOT_FOUND');
    const theirKey = { 'X-API-Key': other.key };
    await warden.request.delete(`/api/v1/keys/${minted.body.id}`).set(theirKey).expect(404);
    assert.deepEqual((await warden.request.get('/api/v1/keys').set(theirKey).expect(200)).body.keys, []);
    await current(minted.body.key).expect(200);
  });

  it('answers 401 without a credential, 400 for a malformed id or filter, 403 to a viewer revoking', async () => {
    const minted = await mint((await agent()).id, (await vendor()).id);
    const viewer = await createUserAndLogin(warden, org, 'viewer2@keys.test', 'viewer');
    await warden.request.get('/api/v1/keys').expect(401);
    await warden.request.post('/api/v1/keys').send({ agent_id: minted.body.agent_id, vendor_id: minted.body.vendor_id }).expect(401);
    await warden.request.delete(`/api/v1/keys/${minted.body.id}`).expect(401);
    await warden.request.delete(`/api/v1/keys/${minted.body.id}`).set('Authorization', `Bearer ${viewer.token}`).expect(403);
    await warden.request.delete('/api/v1/keys/gwk_!!').set(key).expect(400);
    await warden.request.get('/api/v1/keys?vendor_id=vnd_!!').set(key).expect(400);
    await warden.request.post('/api/v1/keys').set(key).send({ agent_id: 'not-an-agent', vendor_id: minted.body.vendor_id }).expect(422);
    await current(minted.body.key).expect(200);
  });

  it('needs gateway_key.edit to create or revoke: a viewer lists, cannot create', async () => {
    const viewer = await createUserAndLogin(warden, org, 'viewer@keys.test', 'viewer');
    const bearer = { Authorization: `Bearer ${viewer.token}` };
    const res = await warden.request
      .post('/api/v1/keys')
      .set(bearer)
      .send({ agent_id: (await agent()).id, vendor_id: (await vendor()).id })
      .expect(403);
    assert.match(res.body.message, /gateway_key\.edit/);
    await warden.request.get('/api/v1/keys').set(bearer).expect(200);
    const body = await warden.request.post('/api/v1/keys').set(key).send({ agent_id: 'agt_x', vendor_id: 'vnd_x', extra: 1 }).expect(422);
    assert.equal(body.body.code, 'VALIDATION_FAILED');
  });
});
