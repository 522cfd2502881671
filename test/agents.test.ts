import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isLargeOrderPoint } from '../src/modules/agents/ed25519-order';
import { agentIdentity, keyProof, registerAgent } from './support/agents';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, rowCounts, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/** The eight small-order Ed25519 points, canonically encoded (libsodium's blocklist). */
const SMALL_ORDER_POINTS = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
];
/** Other spellings of small-order points: y = p and y = p + 1 (y ≥ p), and x = 0 with the sign bit set. */
const NON_CANONICAL_POINTS = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];
/** y = 2 has no x on the curve. */
const NOT_A_POINT = '0200000000000000000000000000000000000000000000000000000000000000';
/** The attack: R = identity, S = 0 verifies for the identity key over every message in OpenSSL. */
const IDENTITY_SIGNATURE = Buffer.concat([Buffer.from([1]), Buffer.alloc(63)]).toString('base64');

describe('Ed25519 point check', () => {
  it('refuses every small-order point, non-canonical spellings and non-points; takes generated keys', () => {
    for (const hex of [...SMALL_ORDER_POINTS, ...NON_CANONICAL_POINTS, NOT_A_POINT])
      assert.equal(isLargeOrderPoint(Buffer.from(hex, 'hex')), false, hex);
    for (let i = 0; i < 20; i++) assert.equal(isLargeOrderPoint(Buffer.from(agentIdentity().publicKey, 'base64')), true);
    assert.equal(isLargeOrderPoint(Buffer.alloc(31)), false);
  });
});

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
    assert.equal(res.body.key_proven_at, null);
    // Unproven: not valid, and the answer carries the exact message the agent signs to prove it holds the key.
    const unproven = await warden.request.get(`/api/v1/agents/${identity.sekuireId}/verify`).set(key).expect(200);
    const { proof_message: message, ...verdict } = unproven.body;
    assert.deepEqual(verdict, {
      valid: false,
      sekuire_id: identity.sekuireId,
      name: 'My Agent',
      version: '1.0.0',
      registered_at: res.body.created_at,
      status: 'active',
      key_proven_at: null,
    });
    const timestamp = JSON.parse(message).timestamp;
    assert.equal(message, JSON.stringify({ org_id: org.id, purpose: 'warden.agent_key_proof', sekuire_id: identity.sekuireId, timestamp }));
    const signature = sign(null, Buffer.from(message), identity.privateKey).toString('base64');
    const proven = await warden.request.post(`/api/v1/agents/${identity.id}/verify`).set(key).send({ timestamp, signature }).expect(200);
    assert.ok(proven.body.key_proven_at);
    const verify = await warden.request.get(`/api/v1/agents/${identity.sekuireId}/verify`).set(key).expect(200);
    assert.deepEqual(verify.body, {
      valid: true,
      sekuire_id: identity.sekuireId,
      name: 'My Agent',
      version: '1.0.0',
      registered_at: res.body.created_at,
      status: 'active',
      key_proven_at: proven.body.key_proven_at,
      proof_message: null,
    });
    // Proving again changes nothing.
    const again = await warden.request
      .post(`/api/v1/agents/${identity.sekuireId}/verify`)
      .set(key)
      .send(keyProof(identity, org.id))
      .expect(200);
    assert.equal(again.body.key_proven_at, proven.body.key_proven_at);
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
      [
        { sekuire_id: createHash('sha256').update(Buffer.from(short, 'base64')).digest('hex'), name: 'x', public_key: short },
        422,
        'INVALID_PUBLIC_KEY',
      ],
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
  });

  it('registration refuses small-order and non-canonical Ed25519 keys (422 WEAK_PUBLIC_KEY), even with a proof that OpenSSL accepts', async () => {
    const before = await rowCounts(warden, ['agents']);
    for (const hex of [...SMALL_ORDER_POINTS, ...NON_CANONICAL_POINTS, NOT_A_POINT]) {
      const raw = Buffer.from(hex, 'hex');
      const body = {
        sekuire_id: createHash('sha256').update(raw).digest('hex'),
        name: 'x',
        public_key: raw.toString('base64'),
        proof: { timestamp: new Date().toISOString(), signature: IDENTITY_SIGNATURE },
      };
      const res = await warden.request.post('/api/v1/agents/register').set(key).send(body).expect(422);
      assert.equal(res.body.code, 'WEAK_PUBLIC_KEY', hex);
      assert.equal(res.body.details[0].field, 'public_key');
    }
    assert.deepEqual(await rowCounts(warden, ['agents']), before);
    const identity = agentIdentity();
    const strong = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: identity.sekuireId, name: 'Strong', public_key: identity.publicKey, proof: keyProof(identity, org.id) })
      .expect(201);
    assert.ok(strong.body.key_proven_at);
  });

  it('a small-order key stored before the check counts as unproven and cannot be proven', async () => {
    const identity = await registerAgent(warden, org.key);
    const raw = Buffer.from(SMALL_ORDER_POINTS[0]!, 'hex');
    const sekuireId = createHash('sha256').update(raw).digest('hex');
    await warden.database.dataSource.query(`UPDATE agents SET public_key = $2, sekuire_id = $3 WHERE id = $1`, [
      identity.id,
      raw.toString('base64'),
      sekuireId,
    ]);
    const weak = await warden.request
      .post(`/api/v1/agents/${identity.id}/verify`)
      .set(key)
      .send({ timestamp: new Date().toISOString(), signature: IDENTITY_SIGNATURE })
      .expect(422);
    assert.equal(weak.body.code, 'WEAK_PUBLIC_KEY');
    await warden.database.dataSource.query(`UPDATE agents SET key_proven_at = now() WHERE id = $1`, [identity.id]);
    const verdict = await warden.request.get(`/api/v1/agents/${identity.id}/verify`).set(key).expect(200);
    assert.equal(verdict.body.valid, false);
    await warden.request.get('/api/v1/agents/ABCDEF').set(key).expect(400);
    await warden.request
      .get(`/api/v1/agents/${'0'.repeat(64)}`)
      .set(key)
      .expect(404);
  });

  it('POST /agents mints an agent with an sas_ secret shown once; the secret works only on its own routes', async () => {
    const res = await warden.request
      .post('/api/v1/agents')
      .set(key)
      .send({ org_id: org.id, name: 'billing-bot', daily_budget: 25, policy_ids: [] })
      .expect(201);
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
    await warden.request
      .post(`/api/v1/agents/${res.body.id}/heartbeat`)
      .set('X-Agent-Secret', `sas_${'a'.repeat(38)}`)
      .expect(401);
  });

  it('kill switch: disabled at once (secret refused, verify false), enable lifts it; expires_at lifts it by itself', async () => {
    const minted = await warden.request.post('/api/v1/agents').set(key).send({ name: 'killable' }).expect(201);
    handled.push(minted.body.agent_secret);
    const secret = { 'X-Agent-Secret': minted.body.agent_secret };
    const killed = await warden.request
      .post(`/api/v1/kill-switch/${minted.body.id}`)
      .set(key)
      .send({ reason: 'Runaway spend' })
      .expect(200);
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
    const timed = await warden.request
      .post(`/api/v1/kill-switch/${minted.body.id}`)
      .set(key)
      .send({ reason: 'cool down', expires_at: until })
      .expect(200);
    assert.equal(timed.body.disabled_until, until);
    // A kill never shortens the stop in force: a sooner end is ignored, a later one or none extends it.
    const sooner = await warden.request
      .post(`/api/v1/kill-switch/${minted.body.id}`)
      .set(key)
      .send({ reason: 'shorter', expires_at: new Date(Date.now() + 5_000).toISOString() })
      .expect(200);
    assert.deepEqual([sooner.body.disabled_until, sooner.body.disabled_reason], [until, 'shorter']);
    await warden.request.post(`/api/v1/kill-switch/${minted.body.id}`).set(key).send({ reason: 'indefinite' }).expect(200);
    const after = await warden.request
      .post(`/api/v1/kill-switch/${minted.body.id}`)
      .set(key)
      .send({ reason: 'timed again', expires_at: new Date(Date.now() + 5_000).toISOString() })
      .expect(200);
    assert.equal(after.body.disabled_until, null, 'a timed kill does not end an indefinite one');
    await warden.request.post(`/api/v1/agents/${minted.body.id}/enable`).set(key).expect(200);
    await warden.request
      .post(`/api/v1/kill-switch/${minted.body.id}`)
      .set(key)
      .send({ reason: 'cool down', expires_at: until })
      .expect(200);
    await warden.database.dataSource.query(`UPDATE agents SET disabled_until = now() - interval '1 second' WHERE id = $1`, [
      minted.body.id,
    ]);
    const lifted = await warden.request.get(`/api/v1/agents/${minted.body.id}`).set(key).expect(200);
    assert.equal(lifted.body.status, 'active');
    await warden.request.post(`/api/v1/agents/${minted.body.id}/heartbeat`).set(secret).expect(204);
    await warden.request
      .post(`/api/v1/kill-switch/${minted.body.id}`)
      .set(key)
      .send({ reason: 'x', expires_at: '2001-01-01T00:00:00Z' })
      .expect(422);
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
    const token = await warden.request
      .post(`/api/v1/workspaces/${ws.body.id}/install-tokens`)
      .set(key)
      .send({ agent_id: minted.body.id })
      .expect(201);
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
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM runtime_tokens WHERE installation_id = $1`, [
      boot.body.installation_id,
    ]);
    assert.equal(n, 0);
    await warden.request
      .post(`/api/v1/installations/${boot.body.installation_id}/lease`)
      .set('Authorization', `Bearer ${boot.body.runtime_token}`)
      .send({})
      .expect(401);
  });
  const auditEvents = (orgId: string, action: string) =>
    warden.auditRows(`SELECT actor_type, actor_id, resource_id, details FROM audit_events WHERE org_id = $1 AND action = $2 ORDER BY seq`, [
      orgId,
      action,
    ]);

  it("a copied public key buys another org nothing: no trust headers, no 409 to the key's owner, and it can never be proven there", async () => {
    const owner = await createOrg(warden, 'enterprise', 'Key owner');
    const thief = await createOrg(warden, 'enterprise', 'Key thief');
    handled.push(owner.key, thief.key);
    const [A, B] = [{ 'X-API-Key': owner.key }, { 'X-API-Key': thief.key }];
    const identity = agentIdentity();
    const body = { sekuire_id: identity.sekuireId, name: 'Payments agent', public_key: identity.publicKey };
    const signHeaders = (auth: Record<string, string>) =>
      warden.request
        .post('/api/v1/trust/headers')
        .set(auth)
        .send({ sekuire_id: identity.sekuireId, request_body_hash: 'a'.repeat(64) });

    // B registers A's public key first, with the seed 000 body: accepted, unproven, vouched for by nothing.
    const stolen = await warden.request.post('/api/v1/agents/register').set(B).send(body).expect(201);
    assert.equal(stolen.body.key_proven_at, null);
    const refused = await signHeaders(B).expect(409);
    assert.equal(refused.body.code, 'KEY_NOT_PROVEN');
    const profile = await warden.request.get(`/api/v1/trust/profile/did:sekuire:${identity.sekuireId}`).set(B).expect(200);
    assert.equal(profile.body.verified, false);
    assert.equal((await warden.request.get(`/api/v1/agents/${stolen.body.id}/verify`).set(B).expect(200)).body.valid, false);

    // A registers its own key: no 409, and nothing in the answer speaks of B.
    const own = await warden.request.post('/api/v1/agents/register').set(A).send(body).expect(201);
    assert.equal(own.body.org_id, owner.id);
    for (const trace of [thief.id, stolen.body.id]) assert.ok(!JSON.stringify(own.body).includes(trace));
    await signHeaders(A).expect(409);

    // A proves possession and Warden vouches for it.
    await warden.request.post(`/api/v1/agents/${identity.sekuireId}/verify`).set(A).send(keyProof(identity, owner.id)).expect(200);
    const headers = await signHeaders(A).expect(200);
    assert.equal(headers.body.headers['X-Warden-Agent'], `did:sekuire:${identity.sekuireId}`);
    assert.equal(
      (await warden.request.get(`/api/v1/trust/profile/did:sekuire:${identity.sekuireId}`).set(A).expect(200)).body.verified,
      true,
    );

    // B cannot prove it: not without the private key, and not by replaying A's proof (it names A's org).
    const forged = await warden.request
      .post(`/api/v1/agents/${stolen.body.id}/verify`)
      .set(B)
      .send(keyProof({ ...identity, privateKey: agentIdentity().privateKey }, thief.id))
      .expect(422);
    assert.equal(forged.body.code, 'INVALID_PROOF');
    const replayed = await warden.request
      .post(`/api/v1/agents/${stolen.body.id}/verify`)
      .set(B)
      .send(keyProof(identity, owner.id))
      .expect(422);
    assert.equal(replayed.body.code, 'INVALID_PROOF');
    // Even the key's holder cannot move it to a second org: it belongs to the org that proved it first.
    const taken = await warden.request
      .post(`/api/v1/agents/${stolen.body.id}/verify`)
      .set(B)
      .send(keyProof(identity, thief.id))
      .expect(409);
    assert.equal(taken.body.code, 'KEY_PROVEN_ELSEWHERE');
    const third = await createOrg(warden, 'enterprise', 'Third org');
    handled.push(third.key);
    const provenAtBirth = await warden.request
      .post('/api/v1/agents/register')
      .set('X-API-Key', third.key)
      .send({ ...body, proof: keyProof(identity, third.id) })
      .expect(409);
    assert.equal(provenAtBirth.body.code, 'KEY_PROVEN_ELSEWHERE');
    await signHeaders(B).expect(409);
    assert.equal((await warden.request.get(`/api/v1/agents/${stolen.body.id}`).set(B).expect(200)).body.key_proven_at, null);

    // The proof is an audit event of A's chain only.
    const [proved] = await auditEvents(owner.id, 'agent.key_proven');
    assert.equal(proved.resource_id, identity.sekuireId);
    assert.equal(proved.details.after.id, own.body.id);
    assert.deepEqual(await auditEvents(thief.id, 'agent.key_proven'), []);
  });

  it('proof rules: a proof may come with the registration; stale, foreign or malformed proofs are 422 and write nothing; minted agents have no key to prove', async () => {
    const identity = agentIdentity();
    const body = { sekuire_id: identity.sekuireId, name: 'Proven at birth', public_key: identity.publicKey };
    const before = await rowCounts(warden, ['agents']);
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    const cases: Array<[object, string, string]> = [
      [keyProof(identity, org.id, minutesAgo(6)), 'PROOF_EXPIRED', 'proof.timestamp'],
      [keyProof(identity, org.id, minutesAgo(-6)), 'PROOF_EXPIRED', 'proof.timestamp'],
      [{ timestamp: new Date().toISOString(), signature: 'c2hvcnQ=' }, 'INVALID_SIGNATURE_ENCODING', 'proof.signature'],
      [keyProof(identity, 'org_someoneelse'), 'INVALID_PROOF', 'proof.signature'],
      [keyProof(agentIdentity(), org.id), 'INVALID_PROOF', 'proof.signature'],
    ];
    for (const [proof, code, field] of cases) {
      const res = await warden.request
        .post('/api/v1/agents/register')
        .set(key)
        .send({ ...body, proof })
        .expect(422);
      assert.equal(res.body.code, code);
      assert.equal(res.body.details[0].field, field);
    }
    assert.deepEqual(await rowCounts(warden, ['agents']), before);

    const res = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ ...body, proof: keyProof(identity, org.id, minutesAgo(4)) })
      .expect(201);
    assert.ok(res.body.key_proven_at);
    assert.equal((await warden.request.get(`/api/v1/agents/${res.body.id}/verify`).set(key).expect(200)).body.valid, true);

    const minted = await warden.request.post('/api/v1/agents').set(key).send({ name: 'keyless' }).expect(201);
    handled.push(minted.body.agent_secret);
    const keyless = await warden.request
      .post(`/api/v1/agents/${minted.body.id}/verify`)
      .set(key)
      .send(keyProof(identity, org.id))
      .expect(409);
    assert.equal(keyless.body.code, 'AGENT_HAS_NO_KEY');
    assert.equal((await warden.request.get(`/api/v1/agents/${minted.body.id}/verify`).set(key).expect(200)).body.proof_message, null);
    await warden.request.post(`/api/v1/agents/${agentIdentity().sekuireId}/verify`).set(key).send(keyProof(identity, org.id)).expect(404);
    await warden.request.post('/api/v1/agents/ABCDEF/verify').set(key).send(keyProof(identity, org.id)).expect(400);
    await warden.request.post(`/api/v1/agents/${res.body.id}/verify`).send(keyProof(identity, org.id)).expect(401);
    const viewer = await createUserAndLogin(warden, org, 'proof-viewer@example.com', 'viewer');
    handled.push(viewer.token);
    await warden.request
      .post(`/api/v1/agents/${res.body.id}/verify`)
      .set('Authorization', `Bearer ${viewer.token}`)
      .send(keyProof(identity, org.id))
      .expect(403);
  });

  it("public keys are taken in base64url (Node's JWK x) as well as base64, and answered in base64", async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const x = publicKey.export({ format: 'jwk' }).x!;
    const sekuireId = createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex');
    const res = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: sekuireId, name: 'jwk', public_key: x })
      .expect(201);
    assert.equal(res.body.public_key, Buffer.from(x, 'base64url').toString('base64'));
    const again = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: sekuireId, name: 'jwk', public_key: res.body.public_key })
      .expect(409);
    assert.equal(again.body.code, 'ALREADY_EXISTS');
    // Spare bits set in the last character: another spelling of some key, refused.
    const loose = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: sekuireId, name: 'jwk', public_key: '_'.repeat(43) })
      .expect(422);
    assert.equal(loose.body.code, 'INVALID_PUBLIC_KEY');
  });

  it('the spec examples of the agent operations keep the rules the handlers enforce, and the register example registers as it stands', async () => {
    const spec = (await warden.request.get('/openapi.json').expect(200)).body;
    const register = spec.paths['/api/v1/agents/register'].post;
    const example = register.requestBody.content['application/json'].example;
    const raw = Buffer.from(example.public_key, 'base64');
    assert.equal(raw.length, 32);
    assert.equal(createHash('sha256').update(raw).digest('hex'), example.sekuire_id, 'sekuire_id is the hex SHA-256 of public_key');
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });

    // Every agent in an example of these paths: its sekuire_id certifies its key, its did names it.
    const agents: Array<Record<string, unknown>> = [];
    const collect = (value: unknown, inExample = false): void => {
      if (Array.isArray(value)) {
        for (const item of value) collect(item, inExample);
      } else if (value && typeof value === 'object') {
        if (inExample && 'sekuire_id' in value && 'public_key' in value) agents.push(value as Record<string, unknown>);
        for (const [field, item] of Object.entries(value)) collect(item, inExample || field === 'example');
      }
    };
    for (const [path, item] of Object.entries(spec.paths)) if (/^\/api\/v1\/(agents|kill-switch|trust)/.test(path)) collect(item);
    assert.ok(agents.length >= 7);
    for (const agent of agents.filter((candidate) => candidate.public_key !== null)) {
      assert.equal(
        createHash('sha256')
          .update(Buffer.from(String(agent.public_key), 'base64'))
          .digest('hex'),
        agent.sekuire_id,
      );
      if ('did' in agent) assert.equal(agent.did, `did:sekuire:${agent.sekuire_id}`);
    }

    // The proof example is the example key's signature over the proof message GET .../verify shows.
    const verifyPath = spec.paths['/api/v1/agents/{id}/verify'];
    const message = verifyPath.get.responses['200'].content['application/json'].example.proof_message;
    const proof = verifyPath.post.requestBody.content['application/json'].example;
    const org_id = register.responses['201'].content['application/json'].example.org_id;
    assert.equal(
      message,
      JSON.stringify({ org_id, purpose: 'warden.agent_key_proof', sekuire_id: example.sekuire_id, timestamp: proof.timestamp }),
    );
    assert.ok(verify(null, Buffer.from(message), publicKey, Buffer.from(proof.signature, 'base64url')));

    // Copied as it stands, the example registers (unproven).
    const fresh = await createOrg(warden, 'enterprise', 'Copy and paste');
    handled.push(fresh.key);
    const res = await warden.request.post('/api/v1/agents/register').set('X-API-Key', fresh.key).send(example).expect(201);
    assert.equal(res.body.sekuire_id, example.sekuire_id);
  });

  it('audit: a wire-key change is an event with the key it replaced; heartbeats leave one event per coming online, not one per ping', async () => {
    const minted = await warden.request.post('/api/v1/agents').set(key).send({ name: 'pinger' }).expect(201);
    handled.push(minted.body.agent_secret);
    const secret = { 'X-Agent-Secret': minted.body.agent_secret };
    const wireKey = () => Buffer.from(generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    const [first, second] = [wireKey(), wireKey()];
    await warden.request.put(`/api/v1/agents/${minted.body.id}/public-key`).set(secret).send({ public_key: first }).expect(200);
    await warden.request.put(`/api/v1/agents/${minted.body.id}/public-key`).set(secret).send({ public_key: second }).expect(200);
    const changes = await auditEvents(org.id, 'agent.wire_key_set');
    const mine = changes.filter((event: { resource_id: string }) => event.resource_id === minted.body.id);
    assert.deepEqual(
      mine.map((event: { details: { before: unknown } }) => event.details.before),
      [{ wire_public_key: null }, { wire_public_key: first }],
    );
    assert.deepEqual([mine[1].actor_type, mine[1].actor_id, mine[1].details.after.wire_public_key], ['agent', minted.body.id, second]);

    const online = async () =>
      (await auditEvents(org.id, 'agent.online')).filter((event: { resource_id: string }) => event.resource_id === minted.body.id);
    // setting the wire key counted as being seen; make the agent silent for a while first.
    await warden.database.dataSource.query(`UPDATE agents SET last_seen_at = NULL WHERE id = $1`, [minted.body.id]);
    for (let ping = 0; ping < 3; ping++) await warden.request.post(`/api/v1/agents/${minted.body.id}/heartbeat`).set(secret).expect(204);
    assert.equal((await online()).length, 1, 'the first heartbeat only');
    await warden.database.dataSource.query(`UPDATE agents SET last_seen_at = now() - interval '16 minutes' WHERE id = $1`, [
      minted.body.id,
    ]);
    await warden.request.post(`/api/v1/agents/${minted.body.id}/heartbeat`).set(secret).expect(204);
    const events = await online();
    assert.equal(events.length, 2, 'back after 15 minutes of silence');
    assert.equal(events[0].details.previous_seen_at, null);
    assert.deepEqual([events[1].actor_type, events[1].actor_id], ['agent', minted.body.id]);
    assert.ok(events[1].details.previous_seen_at);
  });
});
