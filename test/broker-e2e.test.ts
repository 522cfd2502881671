/**
 * The secrets broker end to end, as a user would run it: two agents in the customer's cluster and
 * two approvers. A read request in production needs two approvals, is carried out by exactly one
 * of the racing agents, and its value reaches the requester once; a patch request's new value
 * reaches one agent once, and its GitOps observation follows. The audit chain shows every step
 * and verifies.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import { type ArgocdFixture, startArgocdFixture } from './support/argocd-fixture';
import {
  approveWith,
  type Broker,
  CLUSTER,
  createWireAgent,
  createWorkflow,
  encryptForWrap,
  openSealed,
  readRequestBody,
  SECRET_REF,
  setUpBroker,
  type WireAgent,
} from './support/broker';
import { assertNoSecretAtRest } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('secrets broker end to end (seed 002)', () => {
  let warden: TestApp;
  let argocd: ArgocdFixture;
  let broker: Broker;
  let agents: [WireAgent, WireAgent];
  const argocdToken = `argo-${randomBytes(24).toString('hex')}`;
  const handled: string[] = [argocdToken];

  before(async () => {
    const defaults = loadConfig({});
    warden = await startTestApp({
      config: {
        encryptionKey: randomBytes(32),
        outbound: { ...defaults.outbound, allowedHosts: ['127.0.0.1'], timeoutMs: 2000, retryBaseMs: 10 },
        gitops: { ...defaults.gitops, enabled: true, recheckSeconds: 0 },
      },
    });
    argocd = await startArgocdFixture(argocdToken, { 'payments-api': { project: 'payments', sync: 'Synced', health: 'Healthy' } });
    broker = await setUpBroker(warden, 'Acme');
    agents = [await createWireAgent(warden, broker, 'agent-a'), await createWireAgent(warden, broker, 'agent-b')];
    await createWorkflow(warden, broker, {
      name: 'production needs security',
      match: { environment_names: ['production'] },
      required_approvals: 2,
      approver_roles: ['security'],
    });
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await argocd.close();
    await warden.close();
  });

  /** Both agents long-poll for work; exactly one gets the request's job. */
  async function raceForJob(requestId: string) {
    const claims = await Promise.all(
      agents.map((agent) => warden.request.post(`/api/v1/agents/${agent.id}/jobs/claim?wait=2`).set(agent.auth)),
    );
    assert.deepEqual(claims.map((res) => res.status).sort(), [200, 204], 'exactly one agent gets the job');
    const index = claims.findIndex((res) => res.status === 200);
    assert.equal(claims[index]!.body.request_id, requestId);
    return { agent: agents[index]!, job: claims[index]!.body as { id: string; payload: Record<string, unknown> } };
  }

  async function verifiedChain(): Promise<Array<{ action: string; resource_id: string | null }>> {
    const verify = await warden.request.get('/api/v1/audit/verify').set(broker.owner).expect(200);
    assert.equal(verify.body.valid, true, JSON.stringify(verify.body));
    return warden.auditRows('SELECT action, resource_id FROM audit_events WHERE org_id = $1 ORDER BY seq', [broker.org.id]);
  }

  it('read: two approvals, one agent, the value once, then 410; every step in a chain that verifies', async () => {
    const value = `sk_live_${randomBytes(24).toString('hex')}`;
    handled.push(value);
    const created = await warden.request.post('/api/v1/requests/read').set(broker.requester.auth).send(readRequestBody(broker)).expect(201);
    const requestId = created.body.id;
    assert.equal(created.body.required_approvals, 2);
    const first = await approveWith(warden, requestId, [broker.approvers[0]]);
    assert.equal(first.status, 'pending');
    const approved = await approveWith(warden, requestId, [broker.approvers[1]]);
    assert.equal(approved.status, 'approved');

    const { agent, job } = await raceForJob(requestId);
    assert.deepEqual(job.payload.secret, SECRET_REF);
    const running = await warden.request.get(`/api/v1/requests/${requestId}`).set(broker.requester.auth).expect(200);
    assert.equal(running.body.status, 'running');

    // In the cluster: the agent reads the secret and sends it encrypted under a DEK from Warden.
    const wrap = await warden.request
      .post(`/api/v1/agents/${agent.id}/wraps`)
      .set(agent.auth)
      .send(await encryptForWrap(warden, agent, requestId, value))
      .expect(201);
    await warden.request
      .post(`/api/v1/agents/${agent.id}/jobs/${job.id}/complete`)
      .set(agent.auth)
      .send({ status: 'completed' })
      .expect(204);

    const listed = await warden.request.get(`/api/v1/requests/${requestId}/wraps`).set(broker.requester.auth).expect(200);
    assert.deepEqual(
      listed.body.wraps.map((w: { id: string; status: string }) => [w.id, w.status]),
      [[wrap.body.id, 'available']],
    );
    const url = `/api/v1/requests/${requestId}/wraps/${wrap.body.id}?user_id=${broker.requester.id}`;
    const got = await warden.request.get(url).set(broker.requester.auth).expect(200);
    assert.equal(got.body.value, value);
    assert.equal((await warden.request.get(url).set(broker.requester.auth).expect(410)).body.code, 'WRAP_GONE');
    const done = await warden.request.get(`/api/v1/requests/${requestId}`).set(broker.requester.auth).expect(200);
    assert.equal(done.body.status, 'completed');

    const steps = (await verifiedChain()).filter((e) => [requestId, wrap.body.id, agent.id].includes(e.resource_id ?? ''));
    const actions = steps.map((e) => e.action);
    for (const action of ['access_request.created', 'access_request.approved', 'agent.dek_issued', 'wrap.created', 'wrap.retrieved']) {
      assert.ok(actions.includes(action), `the chain shows ${action}: ${actions.join(', ')}`);
    }
    assert.equal(actions.filter((a) => a === 'access_request.approved').length, 2);
    assert.ok(actions.indexOf('access_request.created') < actions.indexOf('wrap.created'));
    assert.ok(actions.indexOf('wrap.created') < actions.indexOf('wrap.retrieved'));
  });

  it('patch: two approvals, one agent applies the value it retrieved once, and Argo CD is observed', async () => {
    const endpoint = await warden.request
      .post('/api/v1/argocd-endpoints')
      .set(broker.owner)
      .send({ name: 'prod-argocd', base_url: argocd.url, token: argocdToken })
      .expect(201);
    await warden.request
      .post('/api/v1/gitops-app-mappings')
      .set(broker.owner)
      .send({
        argocd_endpoint_id: endpoint.body.id,
        app_name: 'payments-api',
        cluster_name: CLUSTER,
        provider: 'kubernetes',
        ref_prefix: 'payments/',
      })
      .expect(201);
    const value = `sk_live_${randomBytes(24).toString('hex')}`;
    handled.push(value);
    const created = await warden.request
      .post('/api/v1/requests')
      .set(broker.requester.auth)
      .send({ ...readRequestBody(broker), justification: 'Rotate after INC-4521', value })
      .expect(201);
    const requestId = created.body.id;
    const approved = await approveWith(warden, requestId, broker.approvers);
    assert.equal(approved.status, 'approved');

    const { agent, job } = await raceForJob(requestId);
    const wrapId = job.payload.wrap_id as string;
    const got = await warden.request.get(`/api/v1/agents/${agent.id}/wraps/${wrapId}`).set(agent.auth).expect(200);
    assert.equal(openSealed(agent, got.body.sealed_value).toString('utf8'), value);
    assert.equal(
      (await warden.request.get(`/api/v1/agents/${agent.id}/wraps/${wrapId}`).set(agent.auth).expect(410)).body.code,
      'WRAP_GONE',
    );
    // The agent writes the secret in the cluster; Argo CD sees the app drift, then sync.
    argocd.set('payments-api', { sync: 'OutOfSync', health: 'Healthy' });
    await warden.request
      .post(`/api/v1/agents/${agent.id}/jobs/${job.id}/complete`)
      .set(agent.auth)
      .send({ status: 'completed' })
      .expect(204);
    const done = await warden.request.get(`/api/v1/requests/${requestId}`).set(broker.requester.auth).expect(200);
    assert.equal(done.body.status, 'completed');

    const drift = await warden.request.get(`/api/v1/requests/${requestId}/gitops`).set(broker.requester.auth).expect(200);
    assert.equal(drift.body.observations.length, 1);
    assert.equal(drift.body.observations[0].app_name, 'payments-api');
    argocd.set('payments-api', { sync: 'Synced', health: 'Healthy' });
    const synced = await warden.request.get(`/api/v1/requests/${requestId}/gitops`).set(broker.requester.auth).expect(200);
    const observation = synced.body.observations[0];
    assert.deepEqual([observation.sync_status, observation.health_status], ['Synced', 'Healthy']);
    assert.deepEqual(
      observation.transitions.map((t: { sync_status: string }) => t.sync_status),
      ['OutOfSync', 'Synced'],
    );

    const actions = (await verifiedChain()).filter((e) => [requestId, wrapId].includes(e.resource_id ?? '')).map((e) => e.action);
    for (const action of ['access_request.created', 'access_request.approved', 'wrap.retrieved']) {
      assert.ok(actions.includes(action), `the chain shows ${action}: ${actions.join(', ')}`);
    }
  });
});
