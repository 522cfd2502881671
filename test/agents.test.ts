import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { agentIdentity, registerAgent } from './support/agents';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, rowCounts, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('agents: register, mint, list, verify, kill switch, revoke, self-service (seeds 000, 001, 002)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  const handled: string[] = [];

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise');
    key = { 'X-API-Key': org.key };
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /agents/register: the sekuire_id certifies the key; the agent reads by agt_ id, sekuire_id and DID form', async () => {
    const identity = await registerAgent(warden, org.key);
    const res = await warden.request.get(`/api/v1/agents/${identity.id}`).set(key).expect(200);
    assert.match(res.body.id, /^agt_[0-9a-z]{26}$/);
    assert.equal(res.body.did, `did:sekuire:${identity.sekuireId}`);
    assert.equal(res.body.status, 'active');
    const byId = await warden.request.get(`/api/v1/agents/${res.body.id}`).set(key).expect(200);
    const bySekuire = await warden.request.get(`/api/v1/agents/${identity.sekuireId}`).set(key).expect(200);
    assert.deepEqual(byId.body, bySekuire.body);
    const verify = await warden.request.get(`/api/v1/agents/${identity.sekuireId}/verify`).set(key).expect(200);
    assert.deepEqual(verify.body, { valid: true, sekuire_id: identity.sekuireId, name: 'My Agent', version: '1.0.0', registered_at: res.body.created_at, status: 'active' });
    const dup = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: identity.sekuireId, name: 'Again', public_key: identity.publicKey })
      .expect(409);
    assert.equal(dup.body.code, 'ALREADY_EXISTS');
  });

  it('registration refuses malformed keys, wrong lengths, a sekuire_id that is not the key hash, and bad ids; nothing is written', async () => {
    const identity = agentIdentity();
    const other = agentIdentity();
    const before = await rowCounts(warden, ['agents']);
    const short = Buffer.alloc(31, 7).toString('base64');
    const cases: Array<[object, number, string]> = [
      [{ sekuire_id: identity.sekuireId, name: 'x', public_key: 'not base64!' }, 422, 'INVALID_PUBLIC_KEY'],
      [{ sekuire_id: createHash('sha256').update(Buffer.from(short, 'base64')).digest('hex'), name: 'x', public_key: short }, 422, 'INVALID_PUBLIC_KEY'],
      [{ sekuire_id: other.sekuireId, name: 'x', public_key: identity.publicKey }, 422, 'SEKUIRE_ID_MISMATCH'],
      [{ sekuire_id: identity.sekuireId.toUpperCase(), name: 'x', public_key: identity.publicKey }, 422, 'VALIDATION_FAILED'],
      [{ sekuire_id: identity.sekuireId, name: 'x', public_key: identity.publicKey, colour: 'red' }, 422, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await warden.request.post('/api/v1/agents/register').set(key).send(body).expect(status);
      assert.equal(res.body.code, code, JSON.stringify(body));
    }
    assert.deepEqual(await rowCounts(warden, ['agents']), before);
    await warden.request.get('/api/v1/agents/did:sekuire:abc').set(key).expect(400);
    await warden.request.get('/api/v1/agents/ABCDEF').set(key).expect(400);
    await warden.request.get(`/api/v1/agents/${'0'.repeat(64)}`).set(key).expect(404);
  });

  it('POST /agents mints an agent with an sas_ secret shown once; the secret works only on its own routes', async () => {
    const res = await warden.request.post('/api/v1/agents').set(key).send({ org_id: org.id, name: 'billing-bot', daily_budget: 25, policy_ids: [] }).expect(201);
    handled.push(res.body.agent_secret);
    assert.match(res.body.agent_secret, /^sas_[A-Za-z0-9]{38}$/);
    assert.equal(res.body.daily_budget, 25);
    const secret = { 'X-Agent-Secret': res.body.agent_secret };
    const listed = await warden.request.get('/api/v1/agents').set(key).expect(200);
    assert.ok(!JSON.stringify(listed.body).includes(res.body.agent_secret));
    assert.ok(listed.body.agents.every((agent: Record<string, unknown>) => agent.agent_secret === undefined));

    const { publicKey } = generateKeyPairSync('x25519');
    const wire = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    const set = await warden.request.put(`/api/v1/agents/${res.body.id}/public-key`).set(secret).send({ public_key: wire }).expect(200);
    assert.equal(set.body.wire_public_key, wire);
    await warden.request.put(`/api/v1/agents/${res.body.id}/public-key`).set(secret).send({ public_key: 'AAAA' }).expect(422);
    await warden.request.post(`/api/v1/agents/${res.body.id}/heartbeat`).set(secret).expect(204);
    const seen = await warden.request.get(`/api/v1/agents/${res.body.id}`).set(key).expect(200);
    assert.ok(seen.body.last_seen_at);

    const other = await warden.request.post('/api/v1/agents').set(key).send({ name: 'other-bot' }).expect(201);
    handled.push(other.body.agent_secret);
    const foreign = await warden.request.post(`/api/v1/agents/${other.body.id}/heartbeat`).set(secret).expect(403);
    assert.equal(foreign.body.code, 'NOT_THIS_AGENT');
    const mgmt = await warden.request.get('/api/v1/agents').set(secret).expect(403);
    assert.equal(mgmt.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    const noSecret = await warden.request.post(`/api/v1/agents/${res.body.id}/heartbeat`).set(key).expect(403);
    assert.equal(noSecret.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    await warden.request.post(`/api/v1/agents/${res.body.id}/heartbeat`).set('X-Agent-Secret', `sas_${'a'.repeat(38)}`).expect(401);
  });

  it('kill switch: disabled at once (secret refused, verify false), enable lifts it; expires_at lifts it by itself', async () => {
    const minted = await warden.request.post('/api/v1/agents').set(key).send({ name: 'killable' }).expect(201);
    handled.push(minted.body.agent_secret);
    const secret = { 'X-Agent-Secret': minted.body.agent_secret };
    const killed = await warden.request.post(`/api/v1/kill-switch/${minted.body.id}`).set(key).send({ reason: 'Runaway spend' }).expect(200);
    assert.equal(killed.body.status, 'disabled');
    assert.equal(killed.body.disabled_reason, 'Runaway spend');
    const refused = await warden.request.post(`/api/v1/agents/${minted.body.id}/heartbeat`).set(secret).expect(401);
    assert.equal(refused.body.code, 'CREDENTIAL_REVOKED');
    const verify = await warden.request.get(`/api/v1/agents/${minted.body.id}/verify`).set(key).expect(200);
    assert.equal(verify.body.valid, false);
    const disabled = await warden.request.get('/api/v1/agents?status=disabled').set(key).expect(200);
    assert.ok(disabled.body.agents.some((agent: { id: string }) => agent.id === minted.body.id));

    await warden.request.post(`/api/v1/agents/${minted.body.id}/enable`).set(key).expect(200);
    await warden.request.post(`/api/v1/agents/${minted.body.id}/heartbeat`).set(secret).expect(204);

    const until = new Date(Date.now() + 60_000).toISOString();
    const timed = await warden.request.post(`/api/v1/kill-switch/${minted.body.id}`).set(key).send({ reason: 'cool down', expires_at: until }).expect(200);
    assert.equal(timed.body.disabled_until, until);
    await warden.database.dataSource.query(`UPDATE agents SET disabled_until = now() - interval '1 second' WHERE id = $1`, [minted.body.id]);
    const lifted = await warden.request.get(`/api/v1/agents/${minted.body.id}`).set(key).expect(200);
    assert.equal(lifted.body.status, 'active');
    await warden.request.post(`/api/v1/agents/${minted.body.id}/heartbeat`).set(secret).expect(204);
    await warden.request.post(`/api/v1/kill-switch/${minted.body.id}`).set(key).send({ reason: 'x', expires_at: '2001-01-01T00:00:00Z' }).expect(422);
  });

  it('revoke is permanent: the secret is refused, enable and kill are 409, revoking again is a no-op', async () => {
    const minted = await warden.request.post('/api/v1/agents').set(key).send({ name: 'doomed' }).expect(201);
    handled.push(minted.body.agent_secret);
    const revoked = await warden.request.post(`/api/v1/agents/${minted.body.id}/revoke`).set(key).expect(200);
    assert.equal(revoked.body.status, 'revoked');
    await warden.request.post(`/api/v1/agents/${minted.body.id}/heartbeat`).set('X-Agent-Secret', minted.body.agent_secret).expect(401);
    const enable = await warden.request.post(`/api/v1/agents/${minted.body.id}/enable`).set(key).expect(409);
    assert.equal(enable.body.code, 'AGENT_REVOKED');
    await warden.request.post(`/api/v1/kill-switch/${minted.body.id}`).set(key).send({ reason: 'x' }).expect(409);
    const again = await warden.request.post(`/api/v1/agents/${minted.body.id}/revoke`).set(key).expect(200);
    assert.equal(again.body.revoked_at, revoked.body.revoked_at);
    await warden.request.post('/api/v1/agents/agt_nosuch/revoke').set(key).expect(404);
    const list = await warden.request.get('/api/v1/agents?status=revoked&limit=1').set(key).expect(200);
    assert.equal(list.body.agents[0].status, 'revoked');
  });

  it('permissions: viewers read agents but cannot mint, kill or revoke; the free plan allows 3 agents (402)', async () => {
    const viewer = await createUserAndLogin(warden, org, 'agent-viewer@example.com', 'viewer');
    handled.push(viewer.token);
    const bearer = { Authorization: `Bearer ${viewer.token}` };
    await warden.request.get('/api/v1/agents').set(bearer).expect(200);
    const denied = await warden.request.post('/api/v1/agents').set(bearer).send({ name: 'nope' }).expect(403);
    assert.match(denied.body.message, /'agent\.mint'/);
    const free = await createOrg(warden, 'free', 'Free agents');
    handled.push(free.key);
    for (const name of ['a1', 'a2', 'a3']) {
      const res = await warden.request.post('/api/v1/agents').set('X-API-Key', free.key).send({ name }).expect(201);
      handled.push(res.body.agent_secret);
    }
    const res = await warden.request.post('/api/v1/agents').set('X-API-Key', free.key).send({ name: 'a4' }).expect(402);
    assert.equal(res.body.code, 'AGENTS_LIMIT_REACHED');
    assert.deepEqual(res.body.current_usage, { current: 3, max: 3 });
    await warden.request.post('/api/v1/agents').set('X-API-Key', free.key).send({ org_id: org.id, name: 'elsewhere' }).expect(404);
  });

  it('deleting a workspace with agents or installations is 409 naming them; ?force=true deletes them too', async () => {
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Doomed' }).expect(201);
    const minted = await warden.request.post('/api/v1/agents').set(key).send({ name: 'resident', workspace_id: ws.body.id }).expect(201);
    handled.push(minted.body.agent_secret);
    const token = await warden.request.post(`/api/v1/workspaces/${ws.body.id}/install-tokens`).set(key).send({ agent_id: minted.body.id }).expect(201);
    handled.push(token.body.token);
    const boot = await warden.request.post('/api/v1/installations/bootstrap').send({ install_token: token.body.token }).expect(200);
    handled.push(boot.body.runtime_token, boot.body.refresh_token);

    const refused = await warden.request.delete(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}`).set(key).expect(409);
    assert.equal(refused.body.code, 'WORKSPACE_NOT_EMPTY');
    assert.match(refused.body.message, new RegExp(`agents ${minted.body.id}`));
    assert.match(refused.body.message, new RegExp(`installations ${boot.body.installation_id}`));
    await warden.request.get(`/api/v1/agents/${minted.body.id}`).set(key).expect(200);

    await warden.request.delete(`/api/v1/orgs/${org.id}/workspaces/${ws.body.id}?force=true`).set(key).expect(204);
    await warden.request.get(`/api/v1/agents/${minted.body.id}`).set(key).expect(404);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM runtime_tokens WHERE installation_id = $1`, [boot.body.installation_id]);
    assert.equal(n, 0);
    await warden.request
      .post(`/api/v1/installations/${boot.body.installation_id}/lease`)
      .set('Authorization', `Bearer ${boot.body.runtime_token}`)
      .send({})
      .expect(401);
  });
});
