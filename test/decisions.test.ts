import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createGatewayKey, createGovernedAgent, createPolicy, createVendor } from './support/governance';
import { createOrg, createUserAndLogin, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('POST /decisions: one evaluator for policies, budgets and approvals (seed 001)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;

  before(async () => {
    warden = await startTestApp({ config: { encryptionKey: randomBytes(32) } });
    org = await createOrg(warden);
    other = await createOrg(warden, 'enterprise', 'Other org');
  });
  after(() => warden.close());

  const ask = (secret: string, body: Record<string, unknown>) =>
    warden.request.post('/api/v1/decisions').set('X-Agent-Secret', secret).send(body);

  it('allows a call its policy allows, counts the cost against the budget and meters a billing event', async () => {
    const policy = await createPolicy(warden, org, { allowed_actions: ['chat.*'], max_cost_per_request: 5 });
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id], daily_budget: 10 });
    const res = await ask(agent.secret, { action: 'chat.completions', method: 'POST', path: '/v1/chat/completions', cost_usd: 2.5 }).expect(
      200,
    );
    assert.equal(res.body.decision, 'allow');
    assert.equal(res.body.policy_id, policy.id);
    assert.equal(res.body.policy_version, policy.version);
    assert.equal(res.body.deny_reason, null);
    assert.equal(res.body.budget_remaining_usd, 7.5);
    assert.equal(res.body.request_id, res.headers['x-request-id']);
    assert.match(res.body.budget_resets_at, /T00:00:00\.000Z$/);
    const events = await warden.request.get(`/api/v1/billing/events?agent_id=${agent.id}`).set('X-API-Key', org.key).expect(200);
    assert.equal(events.body.events.length, 1);
    const [event] = events.body.events;
    assert.equal(event.request_id, res.body.request_id);
    assert.equal(event.allow, true);
    assert.equal(event.cost_usd, 2.5);
    assert.equal(event.authorized_cost_usd, 2.5);
    assert.equal(event.policy_id, policy.id);
    assert.equal(event.metering_source, 'declared');
    // Amounts a float cannot hold exactly are still whole micro-dollars.
    for (const cost of [0.1, 1.1, 0.07]) {
      const decimal = await ask(agent.secret, { action: 'chat.completions', method: 'POST', path: '/v1/chat/completions', cost_usd: cost });
      assert.equal(decimal.status, 200, `cost_usd ${cost}`);
    }
  });

  it('denies with the reason and the policy version that decided; a changed policy decides with its new version', async () => {
    const policy = await createPolicy(warden, org, { denied_path_prefixes: ['/admin'] });
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id], daily_budget: 10 });
    const denied = await ask(agent.secret, { method: 'GET', path: '/admin/users' }).expect(200);
    assert.deepEqual(
      {
        decision: denied.body.decision,
        reason: denied.body.deny_reason,
        policy: denied.body.policy_id,
        version: denied.body.policy_version,
      },
      { decision: 'deny', reason: 'path_denied', policy: policy.id, version: policy.version },
    );
    for (const path of ['//admin/users', '/./admin', '/x/../admin', '/%61dmin']) {
      const sneaky = await ask(agent.secret, { method: 'GET', path }).expect(200);
      assert.equal(sneaky.body.decision, 'deny', path);
    }
    const changed = await warden.request
      .put(`/api/v1/policies/${policy.id}`)
      .set('X-API-Key', org.key)
      .send({
        name: 'renamed',
        allowed_actions: [],
        denied_path_prefixes: ['/billing'],
        max_cost_per_request: 10,
        require_approval: false,
        approval_actions: [],
      })
      .expect(200);
    assert.equal(changed.body.version, policy.version + 1);
    const allowed = await ask(agent.secret, { method: 'GET', path: '/admin/users' }).expect(200);
    assert.equal(allowed.body.decision, 'allow');
    assert.equal(allowed.body.policy_version, policy.version + 1);
    const tooDear = await ask(agent.secret, { method: 'POST', path: '/v1/x', cost_usd: 11 }).expect(200);
    assert.equal(tooDear.body.deny_reason, 'cost_exceeds_max');
  });

  it('denies an agent without a policy (default deny)', async () => {
    const agent = await createGovernedAgent(warden, org, { policy_ids: [] });
    const res = await ask(agent.secret, { method: 'GET', path: '/v1/models' }).expect(200);
    assert.equal(res.body.decision, 'deny');
    assert.equal(res.body.deny_reason, 'no_policy');
    assert.equal(res.body.policy_id, null);
  });

  it('never lets 32 concurrent asks overspend the daily budget', async () => {
    const policy = await createPolicy(warden, org, { max_cost_per_request: 5 });
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id], daily_budget: 10 });
    const answers = await Promise.all(
      Array.from({ length: 32 }, () => ask(agent.secret, { method: 'POST', path: '/v1/charge', cost_usd: 1 }).expect(200)),
    );
    const allowed = answers.filter((res) => res.body.decision === 'allow');
    assert.equal(allowed.length, 10);
    for (const res of answers.filter((answer) => answer.body.decision !== 'allow')) {
      assert.equal(res.body.deny_reason, 'budget_exceeded');
      assert.equal(res.body.budget_remaining_usd, 0);
    }
    const summary = await warden.request.get(`/api/v1/billing/summary?agent_id=${agent.id}`).set('X-API-Key', org.key).expect(200);
    assert.equal(summary.body.total_events, 32);
    assert.equal(summary.body.allowed_events, 10);
    assert.equal(summary.body.total_cost_usd, 10);
  });

  it('escalates to a human: approval_required, approve, then exactly one matching call redeems it', async () => {
    const policy = await createPolicy(warden, org, { approval_min_cost: 50, max_cost_per_request: 1000 });
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id], daily_budget: 1000 });
    const call = { method: 'POST', path: '/v1/payments', cost_usd: 120 };
    const asked = await ask(agent.secret, call).expect(200);
    assert.equal(asked.body.decision, 'approval_required');
    const approvalId: string = asked.body.approval_id;
    assert.match(approvalId, /^apr_/);
    const escalated = await warden.request.get(`/api/v1/billing/events?agent_id=${agent.id}`).set('X-API-Key', org.key).expect(200);
    assert.deepEqual(
      escalated.body.events.map((event: { allow: boolean; deny_reason: string }) => [event.allow, event.deny_reason]),
      [[false, 'approval_required']],
    );
    const early = await ask(agent.secret, { ...call, approval_id: approvalId }).expect(200);
    assert.equal(early.body.deny_reason, 'approval_pending');
    // An agent's own credential can never approve.
    await warden.request.post(`/api/v1/approvals/${approvalId}/approve`).set('X-Agent-Secret', agent.secret).expect(403);
    const approver = await createUserAndLogin(warden, org, `approver-${Date.now()}@example.com`, 'admin');
    await warden.request.post(`/api/v1/approvals/${approvalId}/approve`).set('Authorization', `Bearer ${approver.token}`).expect(200);
    const mismatch = await ask(agent.secret, { ...call, path: '/v1/refunds', approval_id: approvalId }).expect(200);
    assert.equal(mismatch.body.deny_reason, 'approval_mismatch');
    const redeems = await Promise.all(Array.from({ length: 8 }, () => ask(agent.secret, { ...call, approval_id: approvalId }).expect(200)));
    const winners = redeems.filter((res) => res.body.decision === 'allow');
    assert.equal(winners.length, 1);
    assert.equal(winners[0]!.body.approval_id, approvalId);
    assert.ok(redeems.filter((res) => res.body.decision === 'deny').every((res) => res.body.deny_reason === 'approval_used'));
  });

  it('refuses a killed agent, human credentials, and another org’s vendor', async () => {
    const policy = await createPolicy(warden, org);
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id] });
    await warden.request.post('/api/v1/decisions').set('X-API-Key', org.key).send({ method: 'GET', path: '/x' }).expect(403);
    // Minting with policies is setting them: a member (agent.mint, no policy.edit) cannot.
    const member = await createUserAndLogin(warden, org, `member-${Date.now()}@example.com`, 'member');
    const minted = await warden.request
      .post('/api/v1/agents')
      .set('Authorization', `Bearer ${member.token}`)
      .send({ name: 'self-governed', policy_ids: [policy.id] })
      .expect(403);
    assert.equal(minted.body.code, 'PERMISSION_DENIED');
    await warden.request.post('/api/v1/decisions').send({ method: 'GET', path: '/x' }).expect(401);
    const foreignVendor = await createVendor(warden, other, 'https://1.1.1.1/v1');
    await ask(agent.secret, { method: 'GET', path: '/x', vendor_id: foreignVendor.id }).expect(404);
    await warden.request.post(`/api/v1/kill-switch/${agent.id}`).set('X-API-Key', org.key).expect(200);
    await ask(agent.secret, { method: 'GET', path: '/x' }).expect(401);
  });

  it('rejects a malformed ask with 422 and writes nothing', async () => {
    const policy = await createPolicy(warden, org);
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id] });
    await ask(agent.secret, { method: 'GET', path: 'no-slash' }).expect(422);
    await ask(agent.secret, { method: 'GET', path: '/x', cost_usd: -1 }).expect(422);
    await ask(agent.secret, { method: 'GET', path: '/x', cost_usd: 0.0000001 }).expect(422);
    const events = await warden.request.get(`/api/v1/billing/events?agent_id=${agent.id}`).set('X-API-Key', org.key).expect(200);
    assert.equal(events.body.events.length, 0);
  });
});

describe('GET /state: a redacted snapshot of the governance state (seed 001)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;

  before(async () => {
    warden = await startTestApp({ config: { encryptionKey: randomBytes(32) } });
    org = await createOrg(warden);
    other = await createOrg(warden, 'enterprise', 'Other org');
  });
  after(() => warden.close());

  it('shows agents with today’s spend, policies with versions, vendors and keys without secrets, pending approvals', async () => {
    const policy = await createPolicy(warden, org, { approval_min_cost: 50, max_cost_per_request: 100 });
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id], daily_budget: 200 });
    const vendor = await createVendor(warden, org, 'https://1.1.1.1/v1');
    const key = await createGatewayKey(warden, org, agent.id, vendor.id);
    await warden.request
      .post('/api/v1/decisions')
      .set('Authorization', `Bearer ${key.key}`)
      .send({ method: 'POST', path: '/v1/a', cost_usd: 7.5 })
      .expect(200);
    const escalated = await warden.request
      .post('/api/v1/decisions')
      .set('X-Agent-Secret', agent.secret)
      .send({ method: 'POST', path: '/v1/b', cost_usd: 60, vendor_id: vendor.id })
      .expect(200);
    assert.equal(escalated.body.decision, 'approval_required');

    const res = await warden.request.get('/api/v1/state').set('X-API-Key', org.key).expect(200);
    assert.equal(res.body.org_id, org.id);
    assert.equal(res.body.truncated, false);
    assert.deepEqual(res.body.agents, [
      {
        id: agent.id,
        name: 'governed-agent',
        status: 'active',
        policy_ids: [policy.id],
        daily_budget: 200,
        spent_today_usd: 7.5,
        budget_remaining_usd: 192.5,
      },
    ]);
    assert.deepEqual(
      res.body.policies.map((p: { id: string; version: number }) => [p.id, p.version]),
      [[policy.id, policy.version]],
    );
    assert.deepEqual(
      res.body.vendors.map((v: { id: string }) => v.id),
      [vendor.id],
    );
    assert.deepEqual(
      res.body.gateway_keys.map((k: { id: string }) => k.id),
      [key.id],
    );
    assert.deepEqual(
      res.body.pending_approvals.map((a: { id: string }) => a.id),
      [escalated.body.approval_id],
    );
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(key.key), 'the gateway key secret is not in the snapshot');
    assert.ok(!text.includes('vendor-secret-0123456789'), 'the vendor credential is not in the snapshot');

    // Another org sees only its own (empty) state, and cannot name this org.
    const theirs = await warden.request.get('/api/v1/state').set('X-API-Key', other.key).expect(200);
    assert.deepEqual([theirs.body.agents, theirs.body.vendors, theirs.body.pending_approvals], [[], [], []]);
    await warden.request.get(`/api/v1/state?org_id=${org.id}`).set('X-API-Key', other.key).expect(404);
    await warden.request.get('/api/v1/state').set('X-Agent-Secret', agent.secret).expect(403);
    await warden.request.get('/api/v1/state').expect(401);
  });
});
