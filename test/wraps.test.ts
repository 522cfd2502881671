import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  approveWith,
  type Broker,
  claimJobOf,
  createWireAgent,
  createWorkflow,
  encryptForWrap,
  openSealed,
  readRequestBody,
  setUpBroker,
  type WireAgent,
} from './support/broker';
import { assertNoSecretAtRest, auditEventsOf, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('wraps: DEKs sealed to agents, single-shot values end to end (seed 002)', () => {
  let warden: TestApp;
  let broker: Broker;
  let agent: WireAgent;
  let idle: WireAgent;
  const handled: string[] = [];
  const secretValue = () => {
    const value = `sk_live_${randomBytes(20).toString('hex')}`;
    handled.push(value);
    return value;
  };

  /** An approved read request whose job `agent` holds. */
  async function runningRead(): Promise<string> {
    const { body } = await warden.request
      .post('/api/v1/requests/read')
      .set(broker.requester.auth)
      .send(readRequestBody(broker))
      .expect(201);
    await approveWith(warden, body.id, [broker.approvers[0]]);
    await claimJobOf(warden, agent, body.id);
    return body.id;
  }

  before(async () => {
    warden = await startTestApp({ config: { encryptionKey: randomBytes(32) } });
    broker = await setUpBroker(warden);
    agent = await createWireAgent(warden, broker, 'agent-one');
    idle = await createWireAgent(warden, broker, 'agent-two');
    await createWorkflow(warden, broker, { match: {}, required_approvals: 1 });
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /agents/{id}/dek: a fresh key sealed to the wire key, wrapped by the KEK, audited by id only', async () => {
    const res = await warden.request.post(`/api/v1/agents/${agent.id}/dek`).set(agent.auth).expect(201);
    assert.match(res.body.dek_id, /^dek_/);
    assert.equal(res.body.sealed_dek.context, `dek|${res.body.dek_id}`);
    const dek = openSealed(agent, res.body.sealed_dek);
    assert.equal(dek.length, 32);
    assert.ok(!res.body.wrapped_dek.includes(dek.toString('base64url')));
    const again = await warden.request.post(`/api/v1/agents/${agent.id}/dek`).set(agent.auth).expect(201);
    assert.notDeepEqual(openSealed(agent, again.body.sealed_dek), dek);
    // Another agent's private key does not open it.
    assert.throws(() => openSealed(idle, res.body.sealed_dek));
    const event = await theAuditEventOf(warden, res, [res.body.wrapped_dek, res.body.sealed_dek.ciphertext]);
    assert.equal(event.action, 'agent.dek_issued');
    assert.equal(event.details.dek_id, res.body.dek_id);
  });

  it('POST /agents/{id}/dek refuses another agent (403), a missing credential (401) and an agent without a wire key (409)', async () => {
    assert.equal((await warden.request.post(`/api/v1/agents/${idle.id}/dek`).set(agent.auth).expect(403)).body.code, 'NOT_THIS_AGENT');
    await warden.request.post(`/api/v1/agents/${agent.id}/dek`).expect(401);
    const keyless = await createWireAgent(warden, broker, 'agent-keyless', false);
    const res = await warden.request.post(`/api/v1/agents/${keyless.id}/dek`).set(keyless.auth).expect(409);
    assert.equal(res.body.code, 'WIRE_KEY_MISSING');
    await warden.request.post('/api/v1/agents/not-an-agent/dek').set(agent.auth).expect(400);
  });

  it('read flow: the agent holding the job posts the value; the requester retrieves it once, then 410', async () => {
    const requestId = await runningRead();
    const value = secretValue();
    const wire = await encryptForWrap(warden, agent, requestId, value);
    const notHolder = await warden.request.post(`/api/v1/agents/${idle.id}/wraps`).set(idle.auth).send(wire).expect(409);
    assert.equal(notHolder.body.code, 'REQUEST_JOB_NOT_HELD');
    const tampered = { ...wire, ciphertext: Buffer.from(wire.ciphertext, 'base64').reverse().toString('base64') };
    const bad = await warden.request.post(`/api/v1/agents/${agent.id}/wraps`).set(agent.auth).send(tampered).expect(422);
    assert.equal(bad.body.code, 'WRAP_UNREADABLE');
    const idleKey = await encryptForWrap(warden, idle, requestId, value);
    const foreignKey = await warden.request
      .post(`/api/v1/agents/${agent.id}/wraps`)
      .set(agent.auth)
      .send({ ...wire, wrapped_dek: idleKey.wrapped_dek })
      .expect(422);
    assert.equal(foreignKey.body.code, 'WRAP_UNREADABLE');

    const posted = await warden.request.post(`/api/v1/agents/${agent.id}/wraps`).set(agent.auth).send(wire).expect(201);
    assert.equal(posted.body.kind, 'read');
    assert.equal(posted.body.status, 'available');
    assert.equal(posted.body.created_by, agent.id);
    const created = await theAuditEventOf(warden, posted, [value]);
    assert.equal(created.action, 'wrap.created');
    // Neither the answer nor the audit event (which audit.read holders see) tells the value's length.
    assert.ok(!('size_bytes' in posted.body));
    assert.ok(!JSON.stringify(created.details).includes('size_bytes'));
    const twice = await warden.request.post(`/api/v1/agents/${agent.id}/wraps`).set(agent.auth).send(wire).expect(409);
    assert.equal(twice.body.code, 'WRAP_EXISTS');
    await warden.request
      .post(`/api/v1/agents/${agent.id}/wraps`)
      .set(agent.auth)
      .send({ ...wire, request_id: 'acr_nonexistent0000000000000000' })
      .expect(404);

    const listed = await warden.request.get(`/api/v1/requests/${requestId}/wraps`).set(broker.requester.auth).expect(200);
    assert.deepEqual(listed.body.wraps, [{ ...posted.body, size_bytes: Buffer.byteLength(value) }]);
    // The requester, who may unwrap it, learns the value's length; anyone else who sees the request does not.
    for (const other of [broker.approvers[0].auth, broker.outsider.auth, broker.owner]) {
      const seen = await warden.request.get(`/api/v1/requests/${requestId}/wraps`).set(other).expect(200);
      assert.deepEqual(seen.body.wraps, [posted.body]);
      assert.ok(!('size_bytes' in seen.body.wraps[0]));
    }
    const url = `/api/v1/requests/${requestId}/wraps/${posted.body.id}`;
    const mismatch = await warden.request.get(`${url}?user_id=${broker.approvers[0].id}`).set(broker.requester.auth).expect(403);
    assert.equal(mismatch.body.code, 'ACTOR_MISMATCH');
    const notRequester = await warden.request.get(url).set(broker.approvers[0].auth).expect(403);
    assert.equal(notRequester.body.code, 'NOT_THE_REQUESTER');

    const got = await warden.request.get(`${url}?user_id=${broker.requester.id}`).set(broker.requester.auth).expect(200);
    assert.equal(got.body.value, value);
    assert.equal(got.body.status, 'retrieved');
    assert.equal(got.body.retrieved_by, broker.requester.id);
    assert.equal(got.headers['cache-control'], 'no-store');
    const [event] = await auditEventsOf(warden, got);
    assert.equal(event!.action, 'wrap.retrieved');
    assert.ok(!JSON.stringify(event).includes(value));
    const gone = await warden.request.get(url).set(broker.requester.auth).expect(410);
    assert.equal(gone.body.code, 'WRAP_GONE');
    const [row] = await warden.database.dataSource.query('SELECT ciphertext, wrapped_dek, kek_id FROM wraps WHERE id = $1', [
      posted.body.id,
    ]);
    assert.deepEqual(row, { ciphertext: null, wrapped_dek: null, kek_id: null });
    await warden.request.get(`/api/v1/requests/${requestId}/wraps/wrp_nonexistent0000000000000000`).set(broker.requester.auth).expect(404);
    await warden.request.get(`/api/v1/requests/${requestId}/wraps`).expect(401);
    await warden.request.get(`/api/v1/requests/${requestId}/wraps?user_id=nope`).set(broker.requester.auth).expect(400);
  });

  it('concurrent retrievals of one wrap: exactly one gets the value', async () => {
    const requestId = await runningRead();
    const value = secretValue();
    const wire = await encryptForWrap(warden, agent, requestId, value);
    const posted = await warden.request.post(`/api/v1/agents/${agent.id}/wraps`).set(agent.auth).send(wire).expect(201);
    const url = `/api/v1/requests/${requestId}/wraps/${posted.body.id}`;
    const results = await Promise.all(Array.from({ length: 5 }, () => warden.request.get(url).set(broker.requester.auth)));
    assert.deepEqual(results.map((res) => res.status).sort(), [200, 410, 410, 410, 410]);
    assert.equal(results.find((res) => res.status === 200)!.body.value, value);
  });

  it('a wrap past its expiry is destroyed unread and answers 410', async () => {
    const requestId = await runningRead();
    const value = secretValue();
    const posted = await warden.request
      .post(`/api/v1/agents/${agent.id}/wraps`)
      .set(agent.auth)
      .send(await encryptForWrap(warden, agent, requestId, value))
      .expect(201);
    await warden.database.dataSource.query(`UPDATE wraps SET expires_at = now() - interval '1 second' WHERE id = $1`, [posted.body.id]);
    const listed = await warden.request.get(`/api/v1/requests/${requestId}/wraps`).set(broker.requester.auth).expect(200);
    assert.equal(listed.body.wraps[0].status, 'expired');
    assert.equal(await warden.services.wraps.destroyExpired(), 1);
    const res = await warden.request.get(`/api/v1/requests/${requestId}/wraps/${posted.body.id}`).set(broker.requester.auth).expect(410);
    assert.equal(res.body.code, 'WRAP_GONE');
  });

  it('patch flow: the agent holding the job retrieves the new value once, sealed to its wire key', async () => {
    const value = secretValue();
    const { body: request } = await warden.request
      .post('/api/v1/requests')
      .set(broker.requester.auth)
      .send({ ...readRequestBody(broker), value })
      .expect(201);
    await approveWith(warden, request.id, [broker.approvers[1]]);
    const [{ id: wrapId, size_bytes }] = (
      await warden.request.get(`/api/v1/requests/${request.id}/wraps`).set(broker.requester.auth).expect(200)
    ).body.wraps;
    // The requester wrote the new value and is told its length; the approver, who only sees the request, is not.
    assert.equal(size_bytes, Buffer.byteLength(value));
    const approverView = await warden.request.get(`/api/v1/requests/${request.id}/wraps`).set(broker.approvers[1].auth).expect(200);
    assert.equal(approverView.body.wraps[0].id, wrapId);
    assert.equal(approverView.body.wraps[0].size_bytes, undefined);
    const url = (who: WireAgent) => `/api/v1/agents/${who.id}/wraps/${wrapId}`;
    const early = await warden.request.get(url(agent)).set(agent.auth).expect(409);
    assert.equal(early.body.code, 'REQUEST_JOB_NOT_HELD');
    const job = await claimJobOf(warden, agent, request.id);
    assert.equal(job.payload.wrap_id, wrapId);
    assert.equal((await warden.request.get(url(idle)).set(idle.auth).expect(409)).body.code, 'REQUEST_JOB_NOT_HELD');
    assert.equal((await warden.request.get(url(idle)).set(agent.auth).expect(403)).body.code, 'NOT_THIS_AGENT');
    await warden.request.get(`/api/v1/agents/${agent.id}/wraps/wrp_nonexistent0000000000000000`).set(agent.auth).expect(404);

    const results = await Promise.all([1, 2, 3].map(() => warden.request.get(url(agent)).set(agent.auth)));
    assert.deepEqual(results.map((res) => res.status).sort(), [200, 410, 410]);
    const got = results.find((res) => res.status === 200)!;
    assert.equal(got.body.sealed_value.context, `wrap|${wrapId}`);
    assert.equal(openSealed(agent, got.body.sealed_value).toString('utf8'), value);
    assert.equal(got.body.retrieved_by, agent.id);
    assert.ok(!JSON.stringify(got.body).includes(value));
    await warden.request
      .post(`/api/v1/agents/${agent.id}/jobs/${job.id}/complete`)
      .set(agent.auth)
      .send({ status: 'completed' })
      .expect(204);
    const done = await warden.request.get(`/api/v1/requests/${request.id}`).set(broker.requester.auth).expect(200);
    assert.equal(done.body.status, 'completed');
    assert.ok(done.body.completed_at);
  });

  it('a patch agent without a wire key is told so before anything is consumed', async () => {
    const keyless = await createWireAgent(warden, broker, 'agent-keyless-2', false);
    const res = await warden.request
      .get(`/api/v1/agents/${keyless.id}/wraps/wrp_nonexistent0000000000000000`)
      .set(keyless.auth)
      .expect(409);
    assert.equal(res.body.code, 'WIRE_KEY_MISSING');
  });
  it('answers every documented refusal of the wrap routes: 400, 401, 403, 404', async () => {
    const wrapId = 'wrp_nonexistent0000000000000000';
    const { body: request } = await warden.request
      .post('/api/v1/requests/read')
      .set(broker.requester.auth)
      .send(readRequestBody(broker))
      .expect(201);
    const wraps = `/api/v1/requests/${request.id}/wraps`;
    const mismatch = await warden.request.get(`${wraps}?user_id=${broker.approvers[0].id}`).set(broker.requester.auth).expect(403);
    assert.equal(mismatch.body.code, 'ACTOR_MISMATCH');
    const stranger = await setUpBroker(warden, 'Stranger org');
    assert.equal((await warden.request.get(wraps).set(stranger.approvers[0].auth).expect(404)).body.code, 'REQUEST_NOT_FOUND');
    await warden.request.get(`${wraps}/not-a-wrap`).set(broker.requester.auth).expect(400);
    await warden.request.get(`${wraps}/${wrapId}`).expect(401);

    await warden.request.post('/api/v1/agents/not-an-agent/wraps').set(agent.auth).send({}).expect(400);
    await warden.request.post(`/api/v1/agents/${agent.id}/wraps`).send({}).expect(401);
    const wire = { request_id: request.id, wrapped_dek: 'v1.x', nonce: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAAAAAAAAAAAAAAAAAAAAAA' };
    assert.equal(
      (await warden.request.post(`/api/v1/agents/${idle.id}/wraps`).set(agent.auth).send(wire).expect(403)).body.code,
      'NOT_THIS_AGENT',
    );
    await warden.request.get(`/api/v1/agents/${agent.id}/wraps/not-a-wrap`).set(agent.auth).expect(400);
    await warden.request.get(`/api/v1/agents/${agent.id}/wraps/${wrapId}`).expect(401);
  });
});
