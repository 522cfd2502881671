import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { feeMicros, type MeteredCall } from '../src/modules/billing';
import { createOrg, createUserAndLogin, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

const MONTH_START = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

/** Mints an agent through the API (seed 001 body). */
async function mintAgent(warden: TestApp, org: TestOrg, dailyBudget: number | null = null): Promise<string> {
  const body: Record<string, unknown> = { name: `agent-${randomBytes(3).toString('hex')}` };
  if (dailyBudget !== null) body.daily_budget = dailyBudget;
  const res = await warden.request.post('/api/v1/agents').set('X-API-Key', org.key).send(body).expect(201);
  return res.body.id;
}

/** A metered call as the gateway records it; tests override what they look at. */
function call(org: TestOrg, agentId: string, fields: Partial<MeteredCall> = {}): MeteredCall {
  return {
    requestId: `req_${randomBytes(8).toString('hex')}`,
    orgId: org.id,
    agentId,
    keyId: null,
    action: 'POST /v1/chat/completions',
    allow: true,
    statusCode: 200,
    authorizedCostMicros: fields.costMicros ?? 0,
    costMicros: 0,
    policyId: null,
    policyVersion: null,
    denyReason: null,
    meteringSource: 'declared',
    ...fields,
  };
}

describe('billing: events, summaries and fees (seed 001)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  let agent: string;
  let second: string;

  before(async () => {
    // A 2.5 % take rate, so rounding shows.
    warden = await startTestApp({ config: { billing: { feeMode: 'take_rate', takeRateBps: 250, feePerActionMicros: 0 } } });
    org = await createOrg(warden);
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
    agent = await mintAgent(warden, org, 5);
    second = await mintAgent(warden, org);
  });
  after(() => warden.close());

  it('records events through the service and lists them newest first, with fees rounded half up to the micro-dollar', async () => {
    const billing = warden.services.billing;
    const base = Date.now() - 60_000;
    const recorded: MeteredCall[] = [
      // 250 bps of 20 µ$ is 0.5 µ$ (rounds up to 1); of 19 µ$ 0.475 (down to 0); of $0.25 exactly $0.00625.
      call(org, agent, { costMicros: 20, occurredAt: new Date(base) }),
      call(org, agent, { costMicros: 19, occurredAt: new Date(base + 1000) }),
      call(org, agent, {
        keyId: 'gk_01jd4v3k8m2q6r9t1w5y7z0abc',
        authorizedCostMicros: 300_000,
        costMicros: 250_000,
        meteringSource: 'vendor',
        policyId: 'pol_01jd4v3k8m2q6r9t1w5y7z0abc',
        policyVersion: 3,
        occurredAt: new Date(base + 2000),
      }),
      // A denied call carries no fee, whatever it would have cost.
      call(org, agent, {
        allow: false,
        statusCode: 403,
        authorizedCostMicros: 0,
        costMicros: 400_000,
        denyReason: 'path_denied',
        policyId: 'pol_01jd4v3k8m2q6r9t1w5y7z0abc',
        policyVersion: 3,
        occurredAt: new Date(base + 3000),
      }),
    ];
    for (const event of recorded) await billing.recordEvent(event);

    const res = await warden.request.get(`/api/v1/billing/events?agent_id=${agent}`).set(key).expect(200);
    assert.equal(res.body.has_more, false);
    assert.deepEqual(
      res.body.events.map((event: { request_id: string }) => event.request_id),
      recorded.map((event) => event.requestId).reverse(),
    );
    const [denied, vendor, nineteen, twenty] = res.body.events;
    assert.match(vendor.id, /^bev_[0-9a-z]{26}$/);
    assert.deepEqual(vendor, {
      id: vendor.id,
      request_id: recorded[2]!.requestId,
      org_id: org.id,
      agent_id: agent,
      key: 'gk_01jd4v3k8m2q6r9t1w5y7z0abc',
      action: 'POST /v1/chat/completions',
      allow: true,
      status_code: 200,
      authorized_cost_usd: 0.3,
      cost_usd: 0.25,
      fee_usd: 0.00625,
      policy_id: 'pol_01jd4v3k8m2q6r9t1w5y7z0abc',
      policy_version: 3,
      deny_reason: null,
      metering_source: 'vendor',
      timestamp: new Date(base + 2000).toISOString(),
    });
    assert.equal(twenty.fee_usd, 0.000001);
    assert.equal(nineteen.fee_usd, 0);
    assert.deepEqual(
      [denied.allow, denied.status_code, denied.deny_reason, denied.cost_usd, denied.fee_usd],
      [false, 403, 'path_denied', 0.4, 0],
    );
    // Money is stored as integer micro-dollars.
    const rows = await warden.database.dataSource.query(
      `SELECT cost_micros::text, fee_micros::text FROM billing_events WHERE request_id = $1`,
      [recorded[2]!.requestId],
    );
    assert.deepEqual(rows, [{ cost_micros: '250000', fee_micros: '6250' }]);
  });

  it('summarizes in SQL: counts, the cost of allowed calls, fees, the fee settings; by agent and by range', async () => {
    const billing = warden.services.billing;
    const now = new Date();
    const lastMonth = new Date(MONTH_START(now).getTime() - 86_400_000);
    await billing.recordEvent(call(org, second, { costMicros: 1_000_000 })); // fee 25 000
    await billing.recordEvent(call(org, second, { costMicros: 3, allow: false, statusCode: 403, denyReason: 'cost_exceeds_max' }));
    await billing.recordEvent(call(org, second, { costMicros: 2_000_000, occurredAt: lastMonth })); // fee 50 000, last month
    await billing.recordEvent(call(other, await mintAgent(warden, other), { costMicros: 7_000_000 })); // another org's

    const month = await warden.request.get(`/api/v1/billing/summary?agent_id=${second}`).set(key).expect(200);
    assert.deepEqual(month.body, {
      from: MONTH_START(now).toISOString(),
      to: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
      org_id: org.id,
      agent_id: second,
      total_events: 2,
      allowed_events: 1,
      denied_events: 1,
      total_cost_usd: 1,
      total_fee_usd: 0.025,
      take_rate_bps: 250,
      fee_mode: 'take_rate',
      fee_per_action_usd: 0,
    });

    // The whole org this month: the first test's four events (cost 20 + 19 + 250 000 µ$ allowed; fees 1 + 0 + 6 250 + 0) and these two.
    const org1 = await warden.request.get(`/api/v1/billing/summary?org_id=${org.id}`).set(key).expect(200);
    assert.deepEqual([org1.body.agent_id, org1.body.total_events, org1.body.allowed_events, org1.body.denied_events], [null, 6, 4, 2]);
    assert.equal(org1.body.total_cost_usd, 1.250039);
    assert.equal(org1.body.total_fee_usd, 0.031251);

    // A range holding only last month's event; a date is its UTC midnight, `to` is exclusive.
    const day = lastMonth.toISOString().slice(0, 10);
    const range = await warden.request
      .get(`/api/v1/billing/summary?agent_id=${second}&from=${day}&to=${day}T23:59:59Z`)
      .set(key)
      .expect(200);
    assert.deepEqual(
      [range.body.from, range.body.total_events, range.body.total_cost_usd, range.body.total_fee_usd],
      [`${day}T00:00:00.000Z`, 1, 2, 0.05],
    );
    const earlier = new Date(lastMonth.getTime() - 90 * 86_400_000).toISOString().slice(0, 10);
    const before = await warden.request.get(`/api/v1/billing/summary?agent_id=${second}&from=${earlier}&to=${day}`).set(key).expect(200);
    assert.deepEqual([before.body.total_events, before.body.total_cost_usd], [0, 0]);
    // A time offset is read as the instant it names.
    const offset = await warden.request
      .get(`/api/v1/billing/summary?from=${encodeURIComponent('2026-01-01T02:00:00+02:00')}&to=2026-01-02`)
      .set(key)
      .expect(200);
    assert.equal(offset.body.from, '2026-01-01T00:00:00.000Z');
  });

  it('pages newest first with cursors, filters by agent, and refuses a forged cursor', async () => {
    const billing = warden.services.billing;
    const pager = await mintAgent(warden, org);
    const base = Date.now() - 30_000;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const event = call(org, pager, { costMicros: i, occurredAt: new Date(base + i * 10) });
      ids.unshift(event.requestId);
      await billing.recordEvent(event);
    }
    // Two events in the same millisecond still page without loss or repeats.
    const twin = call(org, pager, { occurredAt: new Date(base - 1000) });
    const twin2 = call(org, pager, { occurredAt: new Date(base - 1000) });
    await billing.recordEvent(twin);
    await billing.recordEvent(twin2);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/billing/events?agent_id=${pager}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await warden.request.get(url).set(key).expect(200);
      assert.ok(res.body.events.length <= 2);
      seen.push(...res.body.events.map((event: { request_id: string }) => event.request_id));
      assert.equal(res.body.has_more, res.body.next_cursor !== null);
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 4);
    assert.deepEqual(seen.slice(0, 5), ids);
    assert.deepEqual(new Set(seen.slice(5)), new Set([twin.requestId, twin2.requestId]));

    const all = await warden.request.get('/api/v1/billing/events?limit=200').set(key).expect(200);
    assert.ok(all.body.events.some((event: { agent_id: string }) => event.agent_id === agent));
    assert.ok(all.body.events.every((event: { org_id: string }) => event.org_id === org.id));
    const times = all.body.events.map((event: { timestamp: string }) => event.timestamp);
    assert.deepEqual(times, [...times].sort().reverse());

    const forged = await warden.request
      .get(`/api/v1/billing/events?cursor=${Buffer.from('not an id').toString('base64url')}`)
      .set(key)
      .expect(400);
    assert.equal(forged.body.code, 'INVALID_CURSOR');
    await warden.request.get('/api/v1/billing/events?limit=201').set(key).expect(400);
  });

  it("never shows another org's events: org_id of another org is 404, its agents have nothing here", async () => {
    const theirs = { 'X-API-Key': other.key };
    const listed = await warden.request.get('/api/v1/billing/events').set(theirs).expect(200);
    assert.equal(listed.body.events.length, 1);
    assert.equal(listed.body.events[0].org_id, other.id);
    const byAgent = await warden.request.get(`/api/v1/billing/events?agent_id=${agent}`).set(theirs).expect(200);
    assert.deepEqual(byAgent.body.events, []);
    for (const path of ['/api/v1/billing/events', '/api/v1/billing/summary']) {
      const res = await warden.request.get(`${path}?org_id=${org.id}`).set(theirs).expect(404);
      assert.equal(res.body.code, 'ORG_NOT_FOUND');
    }
    const summary = await warden.request.get(`/api/v1/billing/summary?agent_id=${agent}`).set(theirs).expect(200);
    assert.deepEqual([summary.body.org_id, summary.body.total_events, summary.body.total_cost_usd], [other.id, 0, 0]);
    const own = await warden.request.get('/api/v1/billing/summary').set(theirs).expect(200);
    assert.deepEqual([own.body.total_events, own.body.total_cost_usd, own.body.total_fee_usd], [1, 7, 0.175]);
    // A cursor from org A's pages reads nothing of org A for org B.
    const page = await warden.request.get('/api/v1/billing/events?limit=1').set(key).expect(200);
    const crossed = await warden.request.get(`/api/v1/billing/events?cursor=${page.body.next_cursor}`).set(theirs).expect(200);
    assert.deepEqual(crossed.body.events, []);
  });

  it('lets a viewer read; refuses a key without billing.read (403) and anonymous callers (401)', async () => {
    const viewer = await createUserAndLogin(warden, org, 'billing-viewer@example.com', 'viewer');
    const auth = { Authorization: `Bearer ${viewer.token}` };
    const events = await warden.request.get('/api/v1/billing/events').set(auth).expect(200);
    assert.ok(events.body.events.length > 0);
    await warden.request.get('/api/v1/billing/summary').set(auth).expect(200);
    const narrow = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'agents only', permissions: ['agent.read'] })
      .expect(201);
    for (const path of ['/api/v1/billing/events', '/api/v1/billing/summary']) {
      const refused = await warden.request.get(path).set('X-API-Key', narrow.body.key).expect(403);
      assert.equal(refused.body.code, 'PERMISSION_DENIED');
      assert.match(refused.body.message, /billing\.read/);
      await warden.request.get(path).expect(401);
    }
  });

  it('refuses a range that is empty, backwards or over 366 days (422), and a date that does not exist (400)', async () => {
    const cases: Array<[string, number, string, string]> = [
      ['from=2026-03-01&to=2026-03-01', 422, 'INVALID_TIME_RANGE', 'from'],
      ['from=2026-03-02&to=2026-03-01', 422, 'INVALID_TIME_RANGE', 'from'],
      ['from=2025-01-01&to=2026-01-03', 422, 'INVALID_TIME_RANGE', 'to'],
      ['from=2026-02-30', 400, 'INVALID_PARAMETER', 'from'],
      ['to=2026-11-01T25:00:00Z', 400, 'INVALID_PARAMETER', 'to'],
      ['from=yesterday', 400, 'INVALID_PARAMETER', 'from'],
    ];
    for (const [query, status, code, field] of cases) {
      const res = await warden.request.get(`/api/v1/billing/summary?${query}`).set(key).expect(status);
      assert.equal(res.body.code, code, query);
      assert.equal(res.body.details[0].field, field, query);
    }
    // Exactly 366 days (a leap year) is allowed.
    await warden.request.get('/api/v1/billing/summary?from=2028-01-01&to=2029-01-01').set(key).expect(200);
  });
});

describe('billing: fee arithmetic', () => {
  it('rounds a take rate half up in integer arithmetic, exact beyond 2^53 intermediate products', () => {
    const rate = (takeRateBps: number) => ({ feeMode: 'take_rate' as const, takeRateBps, feePerActionMicros: 0 });
    assert.equal(feeMicros(rate(3333), true, 3), 1); // 0.9999
    assert.equal(feeMicros(rate(5000), true, 1), 1); // 0.5 rounds up
    assert.equal(feeMicros(rate(4999), true, 1), 0);
    assert.equal(feeMicros(rate(10_000), true, Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
    assert.equal(feeMicros(rate(1), true, 9_000_000_000_000_000), 900_000_000_000);
    assert.equal(feeMicros(rate(10_000), false, 1_000_000), 0);
    assert.equal(feeMicros({ feeMode: 'per_action', takeRateBps: 0, feePerActionMicros: 7 }, false, 1_000_000), 0);
  });
});

describe('billing: per-action fees', () => {
  let warden: TestApp;
  after(() => warden?.close());

  it('charges the per-action fee on each allowed call, whatever it cost, and nothing on denied ones', async () => {
    warden = await startTestApp({ config: { billing: { feeMode: 'per_action', takeRateBps: 250, feePerActionMicros: 2_500 } } });
    const org = await createOrg(warden);
    const agent = await mintAgent(warden, org);
    await warden.services.billing.recordEvent(call(org, agent, { costMicros: 10_000_000 }));
    await warden.services.billing.recordEvent(call(org, agent, { costMicros: 0 }));
    await warden.services.billing.recordEvent(call(org, agent, { costMicros: 5, allow: false, statusCode: 403, denyReason: 'no_policy' }));
    const res = await warden.request.get('/api/v1/billing/summary').set('X-API-Key', org.key).expect(200);
    assert.deepEqual(
      [res.body.fee_mode, res.body.fee_per_action_usd, res.body.take_rate_bps, res.body.total_events, res.body.denied_events],
      ['per_action', 0.0025, 250, 3, 1],
    );
    assert.equal(res.body.total_fee_usd, 0.005);
    assert.equal(res.body.total_cost_usd, 10);
    const events = await warden.request.get('/api/v1/billing/events').set('X-API-Key', org.key).expect(200);
    assert.deepEqual(
      // Events recorded within one millisecond have no order between them: compare each call's fee by its outcome.
      events.body.events.map((event: { allow: boolean; fee_usd: number }) => `${event.allow}:${event.fee_usd}`).sort(),
      ['false:0', 'true:0.0025', 'true:0.0025'],
    );
  });
});

describe('billing: daily budgets', () => {
  let warden: TestApp;
  let org: TestOrg;

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden);
  });
  after(() => warden.close());

  const spent = async (agentId: string, day: string) => {
    const rows = await warden.database.dataSource.query(
      `SELECT spent_micros::text FROM agent_daily_spend WHERE agent_id = $1 AND day = $2::date`,
      [agentId, day],
    );
    return rows[0] ? Number(rows[0].spent_micros) : 0;
  };

  it('32 concurrent reservations against a budget for 10: exactly 10 succeed and the spend is the budget, not more', async () => {
    const agent = await mintAgent(warden, org, 1);
    const now = new Date();
    const results = await Promise.all(
      Array.from({ length: 32 }, () =>
        warden.services.billing.reserveBudget({ orgId: org.id, agentId: agent, costMicros: 100_000, dailyBudgetMicros: 1_000_000, now }),
      ),
    );
    const granted = results.filter((result) => result.ok);
    assert.equal(granted.length, 10);
    assert.deepEqual(
      granted.map((result) => result.remainingMicros).sort((a, b) => a! - b!),
      [0, 100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 900_000],
    );
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
    for (const result of results.filter((r) => !r.ok)) {
      assert.deepEqual(result, { ok: false, remainingMicros: 0, resetsAt: midnight, day: now.toISOString().slice(0, 10) });
    }
    assert.equal(await spent(agent, now.toISOString().slice(0, 10)), 1_000_000);
    assert.deepEqual(await warden.services.billing.spentToday(org.id, now), [{ agentId: agent, spentMicros: 1_000_000 }]);
  });

  it('adjustSpend releases a failed call, corrects to the vendor cost, and never goes below zero', async () => {
    const billing = warden.services.billing;
    const agent = await mintAgent(warden, org, 1);
    const reserve = (costMicros: number) =>
      billing.reserveBudget({ orgId: org.id, agentId: agent, costMicros, dailyBudgetMicros: 1_000_000 });
    const first = await reserve(600_000);
    assert.deepEqual(first, { ok: true, remainingMicros: 400_000, day: first.day });
    const refused = await reserve(600_000);
    assert.equal(refused.ok, false);
    assert.equal(refused.remainingMicros, 400_000);
    // The upstream call failed: its reservation is released and the next one fits.
    await billing.adjustSpend({ orgId: org.id, agentId: agent, day: first.day, deltaMicros: -600_000 });
    assert.equal(await spent(agent, first.day), 0);
    assert.equal((await reserve(600_000)).ok, true);
    // The vendor reported more than declared: the spend may pass the budget by that one difference, and then nothing fits.
    await billing.adjustSpend({ orgId: org.id, agentId: agent, day: first.day, deltaMicros: 500_000 });
    assert.equal(await spent(agent, first.day), 1_100_000);
    assert.deepEqual(await reserve(1), {
      ok: false,
      remainingMicros: 0,
      resetsAt: new Date(Date.parse(first.day) + 86_400_000),
      day: first.day,
    });
    // A release repeated by mistake stops at zero instead of minting budget.
    await billing.adjustSpend({ orgId: org.id, agentId: agent, day: first.day, deltaMicros: -5_000_000 });
    assert.equal(await spent(agent, first.day), 0);
    // A reservation in one org's name never moves another org's counter.
    await billing.adjustSpend({ orgId: 'org_00000000000000000000000000', agentId: agent, day: first.day, deltaMicros: 700_000 });
    assert.equal(await spent(agent, first.day), 0);
    const foreign = await billing.reserveBudget({
      orgId: 'org_00000000000000000000000000',
      agentId: agent,
      costMicros: 1,
      dailyBudgetMicros: null,
    });
    assert.equal(foreign.ok, false);
    await assert.rejects(billing.adjustSpend({ orgId: org.id, agentId: agent, day: 'today', deltaMicros: 1 }), TypeError);
    await assert.rejects(reserve(0.5), TypeError);
  });

  it('counts a UTC day: the budget is full at 23:59:59.999 and free again at midnight', async () => {
    const billing = warden.services.billing;
    const agent = await mintAgent(warden, org, 1);
    const lastMs = new Date('2026-06-30T23:59:59.999Z');
    const midnight = new Date('2026-07-01T00:00:00.000Z');
    const reserve = (now: Date) =>
      billing.reserveBudget({ orgId: org.id, agentId: agent, costMicros: 1_000_000, dailyBudgetMicros: 1_000_000, now });
    assert.deepEqual(await reserve(new Date('2026-06-30T00:00:00Z')), { ok: true, remainingMicros: 0, day: '2026-06-30' });
    assert.deepEqual(await reserve(lastMs), { ok: false, remainingMicros: 0, resetsAt: midnight, day: '2026-06-30' });
    assert.deepEqual(await reserve(midnight), { ok: true, remainingMicros: 0, day: '2026-07-01' });
    assert.deepEqual(await billing.spentToday(org.id, lastMs), [{ agentId: agent, spentMicros: 1_000_000 }]);
    assert.deepEqual(await billing.spentToday(org.id, new Date('2026-07-02T12:00:00Z')), []);
  });

  it('a null budget is unlimited but still counted; a zero budget refuses any cost', async () => {
    const billing = warden.services.billing;
    const agent = await mintAgent(warden, org);
    const now = new Date('2026-08-15T12:00:00Z');
    for (const costMicros of [5_000_000_000, 7]) {
      assert.deepEqual(await billing.reserveBudget({ orgId: org.id, agentId: agent, costMicros, dailyBudgetMicros: null, now }), {
        ok: true,
        remainingMicros: null,
        day: '2026-08-15',
      });
    }
    assert.deepEqual(await billing.spentToday(org.id, now), [{ agentId: agent, spentMicros: 5_000_000_007 }]);
    const broke = await mintAgent(warden, org, 0);
    const refused = await billing.reserveBudget({ orgId: org.id, agentId: broke, costMicros: 1, dailyBudgetMicros: 0, now });
    assert.equal(refused.ok, false);
    assert.equal(await spent(broke, '2026-08-15'), 0);
  });
});
