import assert from 'node:assert/strict';
import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { canonicalJson } from '../src/lib/canonical-json';
import { type AgentIdentity, agentIdentity, keyProof } from './support/agents';
import { createOrg, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

type Identity = AgentIdentity;
const identity = agentIdentity;

/** What the agent signs: the JCS canonical JSON of {context, sekuire_id}, as the spec documents. */
const signContext = (agent: Identity, context: object) =>
  sign(null, Buffer.from(canonicalJson({ context, sekuire_id: agent.sekuireId }), 'utf8'), agent.privateKey).toString('base64');

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const littleEndian = (bytes: Buffer) => bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
/** R = the identity point, the first half of the constant signature of the small-order attack. */
const IDENTITY_R = Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]);

/**
 * A signature whose R is the identity point, made with the private scalar a: S = k·a mod L makes
 * [S]B = [k]A = R + [k]A, which OpenSSL accepts. Only a small-order R check refuses it.
 */
function identityRSignature(agent: Identity, message: Buffer): Buffer {
  const digest = createHash('sha512')
    .update(Buffer.from(agent.privateKey.export({ format: 'jwk' }).d!, 'base64url'))
    .digest();
  digest[0]! &= 248;
  digest[31]! &= 127;
  digest[31]! |= 64;
  const a = littleEndian(digest.subarray(0, 32));
  const k =
    littleEndian(
      createHash('sha512')
        .update(Buffer.concat([IDENTITY_R, Buffer.from(agent.publicKey, 'base64'), message]))
        .digest(),
    ) % L;
  const s = Buffer.alloc(32);
  for (let i = 0, n = (k * a) % L; i < 32; i++, n >>= 8n) s[i] = Number(n & 0xffn);
  return Buffer.concat([IDENTITY_R, s]);
}

describe('trust protocol: verify, profile, signed headers and the JWKS (seed 000)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  let agent: Identity;
  let agentId: string;
  let workspaceId: string;
  let installationId: string;

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise');
    key = { 'X-API-Key': org.key };
    agent = identity();
    const registered = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, name: 'Trusted', version: '2.0.0', public_key: agent.publicKey, proof: keyProof(agent, org.id) })
      .expect(201);
    agentId = registered.body.id;
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Prod' }).expect(201);
    workspaceId = ws.body.id;
    const token = await warden.request
      .post(`/api/v1/workspaces/${workspaceId}/install-tokens`)
      .set(key)
      .send({ agent_id: agent.sekuireId })
      .expect(201);
    const boot = await warden.request.post('/api/v1/installations/bootstrap').send({ install_token: token.body.token }).expect(200);
    installationId = boot.body.installation_id;
    await warden.request
      .post(`/api/v1/installations/${installationId}/lease`)
      .set('Authorization', `Bearer ${boot.body.runtime_token}`)
      .send({})
      .expect(200);
  });
  after(() => warden.close());

  it('canonical JSON follows RFC 8785: sorted keys, no whitespace, ECMAScript numbers', () => {
    assert.equal(canonicalJson({ b: [1, 2.5, 1e21, -0], a: { z: null, y: 'é"\n' } }), '{"a":{"y":"é\\"\\n","z":null},"b":[1,2.5,1e+21,0]}');
  });

  it('POST /trust/verify: a signature by the registered key over the documented bytes is valid, in its workspace', async () => {
    const context = { workspace_id: workspaceId, purpose: 'payment' };
    const res = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: signContext(agent, context), context })
      .expect(200);
    assert.equal(res.body.valid, true);
    assert.deepEqual(res.body.reasons, ['signature_valid', 'key_proven', 'agent_active', 'installed_in_workspace']);
    assert.equal(res.body.did, `did:sekuire:${agent.sekuireId}`);
    // base64url is accepted too; without a context the signed context is {}.
    const bare = sign(null, Buffer.from(canonicalJson({ context: {}, sekuire_id: agent.sekuireId })), agent.privateKey).toString(
      'base64url',
    );
    const plain = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: bare })
      .expect(200);
    assert.deepEqual(plain.body.reasons, ['signature_valid', 'key_proven', 'agent_active']);
  });

  it('a signature by another key, over other bytes, or outside the workspace is not valid; a malformed one is 422', async () => {
    const context = { workspace_id: workspaceId };
    const impostor = identity();
    const wrongKey = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: signContext(impostor, context), context })
      .expect(200);
    assert.equal(wrongKey.body.valid, false);
    assert.equal(wrongKey.body.reasons[0], 'signature_invalid');
    const tampered = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: signContext(agent, context), context: { workspace_id: workspaceId, extra: 1 } })
      .expect(200);
    assert.equal(tampered.body.valid, false);
    const elsewhere = { workspace_id: 'ws_elsewhere' };
    const outside = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: signContext(agent, elsewhere), context: elsewhere })
      .expect(200);
    assert.deepEqual(outside.body.reasons, ['signature_valid', 'key_proven', 'agent_active', 'not_installed_in_workspace']);
    assert.equal(outside.body.valid, false);
    const malformed = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: 'c2hvcnQ=' })
      .expect(422);
    assert.equal(malformed.body.code, 'INVALID_SIGNATURE_ENCODING');
    await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: identity().sekuireId, signature: signContext(agent, {}) })
      .expect(404);
  });

  it('GET /trust/profile/{did}: identity, fingerprint, status, installations (stale once the lease lapses)', async () => {
    const res = await warden.request.get(`/api/v1/trust/profile/did:sekuire:${agent.sekuireId}`).set(key).expect(200);
    assert.equal(res.body.name, 'Trusted');
    assert.equal(res.body.verified, true);
    assert.ok(res.body.key_proven_at);
    assert.equal(res.body.public_key, agent.publicKey);
    assert.equal(
      res.body.key_fingerprint,
      `SHA256:${createHash('sha256').update(Buffer.from(agent.publicKey, 'base64')).digest('base64').replace(/=+$/, '')}`,
    );
    assert.deepEqual(
      res.body.installations.map((i: { id: string; status: string }) => [i.id, i.status]),
      [[installationId, 'active']],
    );
    assert.ok(res.body.last_seen_at);
    await warden.database.dataSource.query(`UPDATE installations SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [
      installationId,
    ]);
    const stale = await warden.request.get(`/api/v1/trust/profile/did:sekuire:${agent.sekuireId}`).set(key).expect(200);
    assert.equal(stale.body.installations[0].status, 'stale');
    await warden.request.get(`/api/v1/trust/profile/did:example:${agent.sekuireId}`).set(key).expect(400);
    await warden.request
      .get(`/api/v1/trust/profile/did:sekuire:${'a'.repeat(64)}`)
      .set(key)
      .expect(404);
  });

  it('POST /trust/headers: a receiver verifies them with only the public key from /.well-known/jwks.json', async () => {
    const body = JSON.stringify({ amount: 12, currency: 'EUR' });
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const res = await warden.request
      .post('/api/v1/trust/headers')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, request_body_hash: bodyHash })
      .expect(200);
    const headers = res.body.headers as Record<string, string>;

    // The receiver's side: nothing but the published key set.
    const jwks = await warden.request.get('/.well-known/jwks.json').expect(200);
    assert.equal(jwks.headers['cache-control'], 'public, max-age=3600');
    const jwk = jwks.body.keys.find((k: { kid: string }) => k.kid === headers['X-Warden-Key-Id']);
    assert.ok(jwk, 'the signing key is published');
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    assert.equal(createHash('sha256').update(body).digest('hex'), headers['X-Warden-Body-SHA256']);
    const signed = canonicalJson({
      agent: headers['X-Warden-Agent'],
      body_sha256: headers['X-Warden-Body-SHA256'],
      key_id: headers['X-Warden-Key-Id'],
      timestamp: headers['X-Warden-Timestamp'],
    });
    assert.ok(verify(null, Buffer.from(signed), publicKey, Buffer.from(headers['X-Warden-Signature']!, 'base64url')));
    assert.equal(headers['X-Warden-Agent'], `did:sekuire:${agent.sekuireId}`);
    const age = Date.now() - new Date(headers['X-Warden-Timestamp']!).getTime();
    assert.ok(age >= 0 && age < 10_000);
    // Any change to what was signed fails verification.
    const forged = signed.replace(bodyHash, createHash('sha256').update('other').digest('hex'));
    assert.ok(!verify(null, Buffer.from(forged), publicKey, Buffer.from(headers['X-Warden-Signature']!, 'base64url')));
  });

  it('Warden vouches only for active agents (409), and the headers operation needs trust.sign', async () => {
    const stopped = identity();
    await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: stopped.sekuireId, name: 'Stopped', public_key: stopped.publicKey, proof: keyProof(stopped, org.id) })
      .expect(201);
    await warden.request.post(`/api/v1/kill-switch/${stopped.sekuireId}`).set(key).send({ reason: 'test' }).expect(200);
    const res = await warden.request
      .post('/api/v1/trust/headers')
      .set(key)
      .send({ sekuire_id: stopped.sekuireId, request_body_hash: 'a'.repeat(64) })
      .expect(409);
    assert.equal(res.body.code, 'AGENT_STOPPED');
    const reader = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'reader', permissions: ['agent.read'] })
      .expect(201);
    const denied = await warden.request
      .post('/api/v1/trust/headers')
      .set('X-API-Key', reader.body.key)
      .send({ sekuire_id: agent.sekuireId, request_body_hash: 'a'.repeat(64) })
      .expect(403);
    assert.match(denied.body.message, /'trust\.sign'/);
    const verdict = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: stopped.sekuireId, signature: signContext(stopped, {}) })
      .expect(200);
    assert.deepEqual(verdict.body.reasons, ['signature_valid', 'key_proven', 'agent_disabled']);
  });
  const auditEvents = (action: string) =>
    warden.auditRows(
      `SELECT actor_type, actor_id, resource_type, resource_id, details FROM audit_events WHERE org_id = $1 AND action = $2 ORDER BY seq`,
      [org.id, action],
    );

  it('an unproven registration gets no headers, an unverified profile and invalid verdicts, even with good signatures', async () => {
    const unproven = identity();
    await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: unproven.sekuireId, name: 'Unproven', public_key: unproven.publicKey })
      .expect(201);
    const headers = await warden.request
      .post('/api/v1/trust/headers')
      .set(key)
      .send({ sekuire_id: unproven.sekuireId, request_body_hash: 'a'.repeat(64) })
      .expect(409);
    assert.equal(headers.body.code, 'KEY_NOT_PROVEN');
    const profile = await warden.request.get(`/api/v1/trust/profile/did:sekuire:${unproven.sekuireId}`).set(key).expect(200);
    assert.deepEqual([profile.body.verified, profile.body.key_proven_at], [false, null]);
    const verdict = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: unproven.sekuireId, signature: signContext(unproven, {}) })
      .expect(200);
    assert.equal(verdict.body.valid, false);
    assert.deepEqual(verdict.body.reasons, ['signature_valid', 'key_unproven', 'agent_active']);
  });

  it('a signature whose R is a small-order point is invalid, though OpenSSL 3.0 verifies it', async () => {
    const context = { anything: 'at all' };
    const signature = identityRSignature(agent, Buffer.from(canonicalJson({ context, sekuire_id: agent.sekuireId }), 'utf8'));
    // OpenSSL 3.0 (Node 20 and 22) accepts it; the 3.5 of Node 24 refuses it as well. Warden refuses it on either.
    const opensslVerifies = verify(
      null,
      Buffer.from(canonicalJson({ context, sekuire_id: agent.sekuireId }), 'utf8'),
      createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(agent.publicKey, 'base64').toString('base64url') },
        format: 'jwk',
      }),
      signature,
    );
    if (process.versions.openssl.startsWith('3.0.')) assert.equal(opensslVerifies, true);
    const verdict = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: signature.toString('base64'), context })
      .expect(200);
    assert.equal(verdict.body.valid, false);
    assert.equal(verdict.body.reasons[0], 'signature_invalid');
  });

  it('a small-order key proven before Warden refused them is never vouched for: invalid verdicts, no headers, unverified profile', async () => {
    const stored = identity();
    const registered = await warden.request
      .post('/api/v1/agents/register')
      .set(key)
      .send({ sekuire_id: stored.sekuireId, name: 'Weak', public_key: stored.publicKey })
      .expect(201);
    const sekuireId = createHash('sha256').update(IDENTITY_R).digest('hex');
    await warden.database.dataSource.query(`UPDATE agents SET public_key = $2, sekuire_id = $3, key_proven_at = now() WHERE id = $1`, [
      registered.body.id,
      IDENTITY_R.toString('base64'),
      sekuireId,
    ]);
    const signature = Buffer.concat([IDENTITY_R, Buffer.alloc(32)]).toString('base64');
    const verdict = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: sekuireId, signature, context: { anything: 'at all' } })
      .expect(200);
    assert.equal(verdict.body.valid, false);
    assert.deepEqual(verdict.body.reasons, ['signature_invalid', 'key_unproven', 'agent_active']);
    const headers = await warden.request
      .post('/api/v1/trust/headers')
      .set(key)
      .send({ sekuire_id: sekuireId, request_body_hash: 'a'.repeat(64) })
      .expect(409);
    assert.equal(headers.body.code, 'KEY_NOT_PROVEN');
    const profile = await warden.request.get(`/api/v1/trust/profile/did:sekuire:${sekuireId}`).set(key).expect(200);
    assert.equal(profile.body.verified, false);
  });

  it('audit: every signing of trust headers and every trust verification is an event about the agent', async () => {
    const bodyHash = 'b'.repeat(64);
    const signed = await warden.request
      .post('/api/v1/trust/headers')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, request_body_hash: bodyHash })
      .expect(200);
    const [event] = (await auditEvents('trust.headers_signed')).slice(-1);
    assert.deepEqual([event.actor_type, event.resource_type, event.resource_id], ['api_key', 'agent', agentId]);
    assert.equal(event.details.after.headers['X-Warden-Signature'], signed.body.headers['X-Warden-Signature']);
    assert.equal(event.details.after.headers['X-Warden-Body-SHA256'], bodyHash);

    const checked = await warden.request
      .post('/api/v1/trust/verify')
      .set(key)
      .send({ sekuire_id: agent.sekuireId, signature: signContext(agent, {}) })
      .expect(200);
    const [verification] = (await auditEvents('trust.verified')).slice(-1);
    assert.equal(verification.resource_id, agent.sekuireId);
    assert.deepEqual(verification.details.after, checked.body);
  });

  it('the spec examples of the trust operations hold: the verify signature, the profile fingerprint and DIDs match the example key', async () => {
    const spec = (await warden.request.get('/openapi.json').expect(200)).body;
    const example = (path: string, method: string, part: 'request' | 'response') => {
      const operation = spec.paths[path][method];
      return (part === 'request' ? operation.requestBody : operation.responses['200']).content['application/json'].example;
    };
    const registered = example('/api/v1/agents/register', 'post', 'request');
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(registered.public_key, 'base64').toString('base64url') },
      format: 'jwk',
    });

    const request = example('/api/v1/trust/verify', 'post', 'request');
    assert.equal(request.sekuire_id, registered.sekuire_id);
    const signedBytes = Buffer.from(canonicalJson({ context: request.context, sekuire_id: request.sekuire_id }));
    assert.ok(verify(null, signedBytes, publicKey, Buffer.from(request.signature, 'base64')), "the example signature is the example key's");
    const verdict = example('/api/v1/trust/verify', 'post', 'response');
    assert.equal(verdict.did, `did:sekuire:${request.sekuire_id}`);

    const profile = example('/api/v1/trust/profile/{did}', 'get', 'response');
    assert.deepEqual(
      [profile.public_key, profile.sekuire_id, profile.did],
      [registered.public_key, registered.sekuire_id, `did:sekuire:${registered.sekuire_id}`],
    );
    assert.equal(
      profile.key_fingerprint,
      `SHA256:${createHash('sha256').update(Buffer.from(registered.public_key, 'base64')).digest('base64').replace(/=+$/, '')}`,
    );
    assert.equal(example('/api/v1/trust/headers', 'post', 'request').sekuire_id, registered.sekuire_id);
    assert.equal(example('/api/v1/trust/headers', 'post', 'response').headers['X-Warden-Agent'], `did:sekuire:${registered.sekuire_id}`);
  });
});
