import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import { createGatewayKey, createGovernedAgent, createPolicy, createVendor } from './support/governance';
import { type HttpReceiver, silence, startHttpReceiver, status } from './support/http-receiver';
import { createOrg, createUserAndLogin, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The gateway as seed 001 describes it: an agent calls its vendor through Warden with a gateway key,
 * and every call is checked against policy, counted against the daily budget, escalated to a human
 * when policy says so, metered as a billing event and audited. The vendor is a receiver on 127.0.0.1.
 */
describe('the gateway governs every call: policy, budget, approval, metering, kill switch (seed 001)', () => {
  let warden: TestApp;
  let vendorApi: HttpReceiver;
  let org: TestOrg;

  before(async () => {
    vendorApi = await startHttpReceiver();
    const defaults = loadConfig({});
    warden = await startTestApp({
      config: {
        encryptionKey: randomBytes(32),
        outbound: { ...defaults.outbound, allowedHosts: ['127.0.0.1'] },
        gateway: { ...defaults.gateway, timeoutMs: 500 },
      },
    });
    org = await createOrg(warden);
  });
  after(async () => {
    await vendorApi.close();
    await warden.close();
  });
  // A vendor's own 202 would pass through too; these vendors answer 200, so a 202 here is always Warden's.
  beforeEach(() => {
    vendorApi.reset();
    vendorApi.reply(...Array.from({ length: 50 }, () => status(200)));
  });

  /** A fresh agent under one policy, a vendor (optionally reporting costs) and the agent's key for it. */
  async function governed(policy: Record<string, unknown>, dailyBudget?: number, vendorFields: Record<string, unknown> = {}) {
    const { id: policyId, version } = await createPolicy(warden, org, policy);
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policyId], daily_budget: dailyBudget });
    const vendor = await createVendor(warden, org, vendorApi.url('/api'), vendorFields);
    const { key } = await createGatewayKey(warden, org, agent.id, vendor.id);
    const call = (method: 'get' | 'post', path: string) =>
      warden.request[method](`/api/v1/gateway/${vendor.id}${path}`).set('Authorization', `Bearer ${key}`);
    const events = async () =>
      (await warden.request.get(`/api/v1/billing/events?agent_id=${agent.id}`).set('X-API-Key', org.key).expect(200)).body.events;
    return { policyId, version, agent, vendor, key, call, events };
  }

  it('forwards an allowed call with the vendor credential and meters it; refuses a denied one with the reason, calling nobody', async () => {
    const { policyId, version, call, events } = await governed({ denied_path_prefixes: ['/admin'], max_cost_per_request: 1 });
    vendorApi.reset();
    vendorApi.reply(status(200, {}, '{"ok":true}'));
    const allowed = await call('post', '/v1/chat').set('X-Warden-Cost-Usd', '0.25').send({ prompt: 'hi' }).expect(200);
    assert.deepEqual(allowed.body, { ok: true });
    assert.equal(vendorApi.requests.length, 1);
    assert.equal(vendorApi.requests[0]!.path, '/api/v1/chat');
    assert.equal(vendorApi.requests[0]!.headers.authorization, 'Bearer vendor-secret-0123456789');

    const denied = await call('get', '/admin/users').expect(403);
    assert.equal(denied.body.code, 'POLICY_DENIED');
    assert.deepEqual([denied.body.deny_reason, denied.body.policy_id, denied.body.policy_version], ['path_denied', policyId, version]);
    assert.equal(denied.body.request_id, denied.headers['x-request-id']);
    for (const sneaky of ['//admin/users', '/Admin', '/x/%2e%2e/admin', '/a%2Fb']) {
      const res = await call('get', sneaky);
      assert.ok([400, 403, 404].includes(res.status), `${sneaky} answered ${res.status}`);
    }
    const tooDear = await call('post', '/v1/chat').set('X-Warden-Cost-Usd', '2').send({}).expect(403);
    assert.equal(tooDear.body.deny_reason, 'cost_exceeds_max');
    assert.equal(vendorApi.requests.length, 1, 'no refused call reached the vendor');

    const metered = await events();
    const byStatus = metered.map((event: { status_code: number; allow: boolean; cost_usd: number; deny_reason: string | null }) => [
      event.status_code,
      event.allow,
      event.cost_usd,
      event.deny_reason,
    ]);
    assert.deepEqual(byStatus[0], [403, false, 0, 'cost_exceeds_max']);
    assert.deepEqual(byStatus.at(-1), [200, true, 0.25, null]);
    assert.ok(byStatus.some(([code, , , reason]: [number, boolean, number, string]) => code === 403 && reason === 'path_denied'));
  });

  it('never lets concurrent calls overspend the daily budget; the refusal says when it resets', async () => {
    const { call, events } = await governed({ max_cost_per_request: 1 }, 1);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('get', '/v1/x').set('X-Warden-Cost-Usd', '0.1')));
    assert.equal(answers.filter((res) => res.status === 200).length, 10);
    const refused = answers.filter((res) => res.status === 403);
    assert.equal(refused.length, 10);
    for (const res of refused) {
      assert.equal(res.body.code, 'BUDGET_EXCEEDED');
      assert.equal(res.body.deny_reason, 'budget_exceeded');
      assert.match(res.body.budget_resets_at, /T00:00:00\.000Z$/);
    }
    assert.equal(vendorApi.requests.length, 10, 'exactly the budget’s worth of calls reached the vendor');
    const metered = await events();
    assert.equal(metered.filter((event: { allow: boolean }) => event.allow).length, 10);
  });

  it('counts what the vendor reports it cost; a call that never reached the vendor costs nothing', async () => {
    const { agent, call, events } = await governed({ max_cost_per_request: 5 }, 10, { cost_header: 'X-Cost-Usd' });
    vendorApi.reset();
    vendorApi.reply(status(200, { 'X-Cost-Usd': '0.05' }));
    await call('get', '/v1/cheap').set('X-Warden-Cost-Usd', '2').expect(200);
    const [event] = await events();
    assert.deepEqual([event.authorized_cost_usd, event.cost_usd, event.metering_source], [2, 0.05, 'vendor']);
    const state = async () =>
      (await warden.request.get('/api/v1/state').set('X-API-Key', org.key).expect(200)).body.agents.find(
        (entry: { id: string }) => entry.id === agent.id,
      );
    assert.equal((await state()).spent_today_usd, 0.05);

    // The vendor goes away: 502, and the reservation is given back.
    const { call: callDown, agent: downAgent } = await (async () => {
      const { id: policyId } = await createPolicy(warden, org, { max_cost_per_request: 5 });
      const down = await createGovernedAgent(warden, org, { policy_ids: [policyId], daily_budget: 10 });
      const closed = await startHttpReceiver();
      const url = closed.url('/api');
      await closed.close();
      const vendor = await createVendor(warden, org, url);
      const { key } = await createGatewayKey(warden, org, down.id, vendor.id);
      return {
        agent: down,
        call: () => warden.request.get(`/api/v1/gateway/${vendor.id}/v1/x`).set('Authorization', `Bearer ${key}`),
      };
    })();
    const failed = await callDown().set('X-Warden-Cost-Usd', '3').expect(502);
    assert.equal(failed.body.code, 'UPSTREAM_UNREACHABLE');
    const snapshot = (await warden.request.get('/api/v1/state').set('X-API-Key', org.key).expect(200)).body.agents;
    assert.equal(snapshot.find((entry: { id: string }) => entry.id === downAgent.id).spent_today_usd, 0);
  });

  it('escalates to a human: 202 with the approval, then exactly one matching retry goes through', async () => {
    const { call, key: agentKey } = await governed({ approval_actions: ['payments.*'], max_cost_per_request: 500 }, 1000);
    const asked = await call('post', '/v1/payments').set('X-Warden-Action', 'payments.create').set('X-Warden-Cost-Usd', '120').send({});
    assert.equal(asked.status, 202);
    assert.equal(asked.body.status, 'approval_required');
    assert.match(asked.body.approval_id, /^apr_/);
    assert.equal(asked.headers['retry-after'], '30');
    assert.equal(vendorApi.requests.length, 0);
    const approvalId: string = asked.body.approval_id;
    // The agent waits on it with the same gateway key; another agent's key cannot see it.
    const { key } = await governed({ max_cost_per_request: 1 });
    await warden.request.get(`/api/v1/approvals/${approvalId}`).set('Authorization', `Bearer ${key}`).expect(404);
    const approver = await createUserAndLogin(warden, org, `gw-approver-${Date.now()}@example.com`, 'admin');
    await warden.request.post(`/api/v1/approvals/${approvalId}/approve`).set('Authorization', `Bearer ${agentKey}`).expect(403);
    await warden.request.post(`/api/v1/approvals/${approvalId}/approve`).set('Authorization', `Bearer ${approver.token}`).expect(200);
    const waited = await warden.request
      .get(`/api/v1/approvals/${approvalId}?wait=5`)
      .set('Authorization', `Bearer ${agentKey}`)
      .expect(200);
    assert.equal(waited.body.status, 'approved');
    const retry = () =>
      call('post', '/v1/payments')
        .set('X-Warden-Action', 'payments.create')
        .set('X-Warden-Cost-Usd', '120')
        .set('X-Warden-Approval-Id', approvalId)
        .send({});
    const [first, second] = await Promise.all([retry(), retry()]);
    assert.deepEqual([first.status, second.status].sort(), [200, 403]);
    const refused = first.status === 403 ? first : second;
    assert.equal(refused.body.deny_reason, 'approval_used');
    assert.equal(vendorApi.requests.length, 1, 'the approved call reached the vendor once');
  });

  it('refuses the next call the moment the agent is killed, and audits every call', async () => {
    const { agent, call } = await governed({ max_cost_per_request: 1 });
    const ok = await call('get', '/v1/ping').expect(200);
    await warden.request.post(`/api/v1/kill-switch/${agent.id}`).set('X-API-Key', org.key).send({ reason: 'runaway' }).expect(200);
    const killed = await call('get', '/v1/ping').expect(403);
    assert.equal(killed.body.code, 'GATEWAY_KEY_AGENT_STOPPED');
    assert.equal(vendorApi.requests.length, 1);
    const [event] = await warden.auditRows(`SELECT action, outcome, details FROM audit_events WHERE org_id = $1 AND request_id = $2`, [
      org.id,
      ok.headers['x-request-id'],
    ]);
    assert.equal(event.action, 'decision.made');
    assert.equal(event.details.decision, 'allow');
    assert.equal(event.details.status_code, 200);
    assert.equal(event.details.path, '/v1/ping');
  });
  it('keeps the cost of a call once it was sent, whatever happens next: a vendor that never answers is still billed', async () => {
    const { agent, call, events } = await governed({ max_cost_per_request: 1 }, 10);
    vendorApi.reset();
    vendorApi.reply(silence);
    const timedOut = await call('get', '/v1/slow').set('X-Warden-Cost-Usd', '0.5').expect(504);
    assert.equal(timedOut.body.code, 'UPSTREAM_TIMEOUT');
    const [event] = await events();
    assert.deepEqual([event.allow, event.cost_usd, event.status_code], [true, 0.5, 504]);
    const snapshot = (await warden.request.get('/api/v1/state').set('X-API-Key', org.key).expect(200)).body.agents;
    assert.equal(snapshot.find((entry: { id: string }) => entry.id === agent.id).spent_today_usd, 0.5);
  });

  it('holds the agent to the call it makes: a declared METHOD /path action, an approval’s query, a loop, a vendor cookie', async () => {
    const { call } = await governed({ allowed_actions: ['POST /v1/chat/*'], approval_min_cost: 50, max_cost_per_request: 100 }, 1000);
    const spoofed = await call('get', '/v1/files/1').set('X-Warden-Action', 'POST /v1/chat/completions').expect(400);
    assert.equal(spoofed.body.code, 'ACTION_MISMATCH');
    const looped = await call('post', '/v1/chat/x').set('X-Warden-Gateway-Hop', '1').send({}).expect(400);
    assert.equal(looped.body.code, 'GATEWAY_LOOP');
    assert.equal(vendorApi.requests.length, 0);

    vendorApi.reset();
    vendorApi.reply(status(200, { 'Set-Cookie': 'session=vendor; Path=/' }), status(200), status(200));
    const forwarded = await call('post', '/v1/chat/completions').send({}).expect(200);
    assert.equal(forwarded.headers['set-cookie'], undefined, 'a vendor cannot set cookies on Warden’s origin');
    assert.equal(vendorApi.requests[0]!.headers['x-warden-gateway-hop'], '1');

    const asked = await call('post', '/v1/chat/transfer?to=alice&amount=5').set('X-Warden-Cost-Usd', '60').send({});
    assert.equal(asked.status, 202);
    const approver = await createUserAndLogin(warden, org, `gw-query-${Date.now()}@example.com`, 'admin');
    await warden.request
      .post(`/api/v1/approvals/${asked.body.approval_id}/approve`)
      .set('Authorization', `Bearer ${approver.token}`)
      .expect(200);
    const elsewhere = await call('post', '/v1/chat/transfer?to=mallory&amount=5000')
      .set('X-Warden-Cost-Usd', '60')
      .set('X-Warden-Approval-Id', asked.body.approval_id)
      .send({})
      .expect(403);
    assert.equal(elsewhere.body.deny_reason, 'approval_mismatch');
    await call('post', '/v1/chat/transfer?to=alice&amount=5')
      .set('X-Warden-Cost-Usd', '60')
      .set('X-Warden-Approval-Id', asked.body.approval_id)
      .send({})
      .expect(200);
  });
});
