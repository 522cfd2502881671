import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createGovernedAgent, createPolicy } from './support/governance';
import { createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('the marketplace: hiring listed agents, and transfer statistics (seed 001)', () => {
  let warden: TestApp;
  let seller: TestOrg;
  let buyer: TestOrg;
  let sellerPolicy: string;

  before(async () => {
    warden = await startTestApp({ config: { rateLimits: { public_stats: { perIp: { limit: 8, windowSeconds: 60 } } } } });
    seller = await createOrg(warden, 'professional', 'Seller');
    buyer = await createOrg(warden, 'starter', 'Buyer');
    sellerPolicy = (await createPolicy(warden, seller, { max_cost_per_request: 100 })).id;
  });
  after(() => warden.close());

  const listedAgent = async (name: string) => {
    const agent = await createGovernedAgent(warden, seller, { policy_ids: [sellerPolicy], name });
    await warden.request.put(`/api/v1/agents/${agent.id}/listing`).set('X-API-Key', seller.key).send({ category: 'research' }).expect(200);
    return agent;
  };
  const hire = (org: TestOrg, body: Record<string, unknown>) =>
    warden.request.post('/api/v1/marketplace/hire').set('X-API-Key', org.key).send(body);
  const fundOrg = (org: TestOrg, amount: number) =>
    warden.request.post('/api/v1/ledger/deposits').set('X-API-Key', org.key).send({ currency: 'USD', amount }).expect(201);
  const balance = async (column: 'org_id' | 'agent_id', id: string, ownerType: string) => {
    const rows = await warden.database.dataSource.query(
      `SELECT balance FROM ledger_accounts WHERE ${column} = $1 AND owner_type = $2 AND currency = 'USD'`,
      [id, ownerType],
    );
    return rows.length === 0 ? 0 : Number(rows[0].balance);
  };

  it('hires a listed agent of another org with an initial charge from the org account to the agent, audited', async () => {
    const agent = await listedAgent('researcher');
    await fundOrg(buyer, 10_000);
    const res = await hire(buyer, {
      org_id: buyer.id,
      to_agent_id: agent.id,
      pricing_model: 'per_task',
      rail: 'ledger',
      currency: 'USD',
      amount: 5_000,
      amount_usd: 50,
      daily_budget_usd: 100,
      charge_now: true,
      idempotency_key: 'hire-7731',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.id, /^hire_/);
    assert.equal(res.body.org_id, buyer.id);
    assert.equal(res.body.agent_id, agent.id);
    assert.equal(res.body.daily_budget_usd, 100);
    assert.equal(res.body.charge.kind, 'hire_charge');
    assert.equal(res.body.charge.status, 'settled');
    assert.deepEqual(res.body.charge.metadata, { hire_id: res.body.id });
    assert.equal(await balance('org_id', buyer.id, 'org'), 5_000);
    assert.equal(await balance('agent_id', agent.id, 'agent'), 5_000);
    assert.equal((await theAuditEventOf(warden, res)).action, 'marketplace.hired');

    const replay = await hire(buyer, {
      org_id: buyer.id,
      to_agent_id: agent.id,
      pricing_model: 'per_task',
      rail: 'ledger',
      currency: 'USD',
      amount: 5_000,
      amount_usd: 50,
      daily_budget_usd: 100,
      charge_now: true,
      idempotency_key: 'hire-7731',
    }).expect(201);
    assert.deepEqual(replay.body, res.body);
    assert.equal(await balance('org_id', buyer.id, 'org'), 5_000, 'a replay charges nothing');
    const reused = await hire(buyer, { to_agent_id: agent.id, idempotency_key: 'hire-7731' }).expect(409);
    assert.equal(reused.body.code, 'IDEMPOTENCY_KEY_REUSED');
    const twice = await hire(buyer, { to_agent_id: agent.id }).expect(409);
    assert.equal(twice.body.code, 'AGENT_ALREADY_HIRED');
  });

  it('hires only listed, live agents of other orgs, and charges only what the org account holds', async () => {
    const unlisted = await createGovernedAgent(warden, seller, { policy_ids: [], name: 'private' });
    assert.equal((await hire(buyer, { to_agent_id: unlisted.id }).expect(404)).body.code, 'AGENT_NOT_LISTED');
    const agent = await listedAgent('pricey');
    const own = await hire(seller, { to_agent_id: agent.id }).expect(422);
    assert.equal(own.body.code, 'TRANSFER_RECIPIENT_INVALID');
    assert.equal((await hire(buyer, { to_agent_id: agent.id, charge_now: true }).expect(422)).body.code, 'VALIDATION_FAILED');
    const offLedger = await hire(buyer, { to_agent_id: agent.id, charge_now: true, amount: 1, rail: 'card' }).expect(422);
    assert.equal(offLedger.body.code, 'VALIDATION_FAILED');
    assert.equal((await hire(buyer, { to_agent_id: agent.id, currency: 'QQQ' }).expect(422)).body.code, 'UNKNOWN_CURRENCY');
    const before = await balance('org_id', buyer.id, 'org');
    const short = await hire(buyer, { to_agent_id: agent.id, charge_now: true, amount: before + 1 }).expect(409);
    assert.equal(short.body.code, 'INSUFFICIENT_FUNDS');
    const hires = await warden.database.dataSource.query(`SELECT id FROM marketplace_hires WHERE agent_id = $1`, [agent.id]);
    assert.deepEqual(hires, [], 'a refused charge leaves no hire');
    // Without a charge the hire is a link only.
    const free = await hire(buyer, { to_agent_id: agent.id, pricing_model: 'free' }).expect(201);
    assert.equal(free.body.charge, undefined);
    await warden.request.post(`/api/v1/kill-switch/${agent.id}`).set('X-API-Key', seller.key).send({ reason: 'maintenance' }).expect(200);
    const other = await createOrg(warden, 'free', 'Late buyer');
    assert.equal((await hire(other, { to_agent_id: agent.id }).expect(404)).body.code, 'AGENT_NOT_LISTED');
  });

  it("lets an agent pay another org's listed agent through the ledger", async () => {
    const payee = await listedAgent('contractor');
    const policy = await createPolicy(warden, buyer, { max_cost_per_request: 100 });
    const payer = await createGovernedAgent(warden, buyer, { policy_ids: [policy.id], name: 'buyer-bot' });
    await warden.request
      .post('/api/v1/ledger/deposits')
      .set('X-API-Key', buyer.key)
      .send({ agent_id: payer.id, currency: 'USD', amount: 300 });
    // The cost governance counts is the amount's, not the one declared.
    const understated = await warden.request
      .post('/api/v1/tx/transfer')
      .set('X-Agent-Secret', payer.secret)
      .send({ to_agent_id: payee.id, currency: 'USD', amount: 300, amount_usd: 0.01 })
      .expect(422);
    assert.equal(understated.body.code, 'AMOUNT_USD_MISMATCH');
    const res = await warden.request
      .post('/api/v1/tx/transfer')
      .set('X-Agent-Secret', payer.secret)
      .send({ to_agent_id: payee.id, currency: 'USD', amount: 300, amount_usd: 3 })
      .expect(201);
    assert.equal(res.body.org_id, buyer.id);
    assert.equal(await balance('agent_id', payee.id, 'agent'), 300);
    const sellerAccounts = await warden.request
      .get(`/api/v1/ledger/accounts?agent_id=${payee.id}`)
      .set('X-API-Key', seller.key)
      .expect(200);
    assert.equal(sellerAccounts.body.accounts[0].balance, 300, "the payee's owner sees the money");
  });

  it('needs marketplace.hire and a credential; org A cannot hire for org B', async () => {
    const agent = await listedAgent('gated');
    const member = await createUserAndLogin(warden, buyer, `member-${Date.now()}@example.com`, 'member');
    const denied = await warden.request
      .post('/api/v1/marketplace/hire')
      .set('Authorization', `Bearer ${member.token}`)
      .send({ to_agent_id: agent.id })
      .expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    await warden.request.post('/api/v1/marketplace/hire').send({ to_agent_id: agent.id }).expect(401);
    await warden.request.post('/api/v1/marketplace/hire').set('X-API-Key', buyer.key).type('json').send('{"to_agent_id":').expect(400);
    const foreign = await hire(buyer, { org_id: seller.id, to_agent_id: agent.id }).expect(404);
    assert.equal(foreign.body.code, 'ORG_NOT_FOUND');
  });

  it("reports the org's own transfer statistics, and no other org's", async () => {
    const stats = await warden.request.get(`/api/v1/tx/stats?org_id=${buyer.id}`).set('X-API-Key', buyer.key).expect(200);
    assert.equal(stats.body.org_id, buyer.id);
    assert.ok(stats.body.hires >= 2);
    assert.ok(stats.body.settled >= 2, 'the hire charge and the agent transfer');
    const usd = stats.body.volume.find((row: { currency: string }) => row.currency === 'USD');
    assert.equal(usd.amount, 5_300);
    assert.equal(stats.body.amount_usd_total, 53);
    const empty = await warden.request
      .get('/api/v1/tx/stats?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z')
      .set('X-API-Key', buyer.key)
      .expect(200);
    assert.deepEqual([empty.body.transfers, empty.body.hires, empty.body.volume], [0, 0, []]);
    assert.equal(
      (await warden.request.get(`/api/v1/tx/stats?org_id=${seller.id}`).set('X-API-Key', buyer.key).expect(404)).body.code,
      'ORG_NOT_FOUND',
    );
    const reversed = await warden.request
      .get('/api/v1/tx/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')
      .set('X-API-Key', buyer.key)
      .expect(400);
    assert.equal(reversed.body.code, 'INVALID_PARAMETER');
    await warden.request.get('/api/v1/tx/stats').expect(401);
    const agent = await createGovernedAgent(warden, buyer, { policy_ids: [], name: 'nosy' });
    await warden.request.get('/api/v1/tx/stats').set('X-Agent-Secret', agent.secret).expect(403);
  });

  it('publishes aggregates without identifiers, cached for a minute, rate-limited per IP', async () => {
    const first = await warden.request.get('/api/v1/public/tx/stats').expect(200);
    assert.equal(first.headers['cache-control'], 'public, max-age=60');
    assert.ok(first.headers['ratelimit-limit']);
    assert.equal(first.body.org_id, undefined);
    assert.ok(!/org_|agt_|tr_|hire_/.test(JSON.stringify(first.body)), 'no identifiers');
    assert.ok(first.body.hires >= 2);
    assert.match(first.body.to, /:00\.000Z$/, 'rounded to the minute');
    assert.equal(Date.parse(first.body.to) - Date.parse(first.body.from), 30 * 86_400_000);
    // A new transfer does not show until the cached answer expires.
    await fundOrg(buyer, 1);
    const agent = await listedAgent('late');
    await hire(buyer, { to_agent_id: agent.id, charge_now: true, amount: 1 }).expect(201);
    const cached = await warden.request.get('/api/v1/public/tx/stats').expect(200);
    if (cached.body.to === first.body.to) assert.deepEqual(cached.body, first.body);
    const period = await warden.request.get('/api/v1/public/tx/stats?from=2020-01-01T00:00:00Z&to=2020-03-01T00:00:00Z').expect(200);
    assert.deepEqual([period.body.transfers, period.body.hires], [0, 0]);
    await warden.request.get('/api/v1/public/tx/stats?from=2020-01-01T00:00:00Z&to=2022-01-01T00:00:00Z').expect(400);
    let limited = false;
    for (let i = 0; i < 10 && !limited; i++) limited = (await warden.request.get('/api/v1/public/tx/stats')).status === 429;
    assert.ok(limited, 'the per-IP limit answers 429');
  });
});
