import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createGatewayKey, createGovernedAgent, createPolicy, createVendor } from './support/governance';
import { assertNoSecretAtRest, auditEventsOf, createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('the double-entry ledger: deposits, agent transfers, idempotency and the balance invariant (seed 001)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let policyId: string;

  before(async () => {
    warden = await startTestApp({ config: { encryptionKey: randomBytes(32) } });
    org = await createOrg(warden);
    other = await createOrg(warden, 'enterprise', 'Other org');
    policyId = (await createPolicy(warden, org, { max_cost_per_request: 100 })).id;
  });
  after(() => warden.close());

  const agentOf = (name = 'payer', policyIds = [policyId]) => createGovernedAgent(warden, org, { policy_ids: policyIds, name });
  const deposit = (owner: TestOrg, body: Record<string, unknown>) =>
    warden.request.post('/api/v1/ledger/deposits').set('X-API-Key', owner.key).send(body);
  const transfer = (secret: string, body: Record<string, unknown>) =>
    warden.request.post('/api/v1/tx/transfer').set('X-Agent-Secret', secret).send(body);
  const balanceOf = async (agentId: string, currency = 'USD'): Promise<number> => {
    const rows = await warden.database.dataSource.query(`SELECT balance FROM ledger_accounts WHERE agent_id = $1 AND currency = $2`, [
      agentId,
      currency,
    ]);
    return rows.length === 0 ? 0 : Number(rows[0].balance);
  };
  const count = async (sql: string, values: unknown[] = []) => Number((await warden.database.dataSource.query(sql, values))[0].n);

  it('settles a ledger transfer at once: two entries summing to zero, both balances moved, audited and metered', async () => {
    const payer = await agentOf();
    const payee = await agentOf('payee');
    const funded = await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 10_000, reference: 'wire 1' }).expect(201);
    assert.equal(funded.body.kind, 'deposit');
    assert.equal(funded.body.status, 'settled');
    assert.deepEqual(funded.body.metadata, { reference: 'wire 1' });
    assert.equal((await theAuditEventOf(warden, funded)).action, 'ledger.deposit_recorded');

    const res = await transfer(payer.secret, {
      to_agent_id: payee.id,
      rail: 'ledger',
      currency: 'USD',
      amount: 2_500,
      amount_usd: 25,
      metadata: { task: 'summarise-q3' },
    }).expect(201);
    assert.equal(res.body.status, 'settled');
    assert.equal(res.body.from_agent_id, payer.id);
    assert.equal(res.body.to_agent_id, payee.id);
    assert.equal(res.body.amount, 2_500);
    assert.equal(res.body.amount_usd, 25);
    assert.equal(res.body.org_id, org.id);
    assert.ok(res.body.settled_at);
    assert.equal(await balanceOf(payer.id), 7_500);
    assert.equal(await balanceOf(payee.id), 2_500);
    const entries = await warden.database.dataSource.query(`SELECT amount FROM ledger_entries WHERE transfer_id = $1 ORDER BY amount`, [
      res.body.id,
    ]);
    assert.deepEqual(
      entries.map((entry: { amount: string }) => Number(entry.amount)),
      [-2_500, 2_500],
    );
    const events = await auditEventsOf(warden, res);
    const audited = events.find((event) => event.action === 'tx.transfer')!;
    assert.deepEqual([audited.actor_type, audited.actor_id, audited.resource_id], ['agent', payer.id, res.body.id]);
    assert.ok(events.some((event) => event.action === 'decision.made'));
    const billing = await warden.request.get(`/api/v1/billing/events?agent_id=${payer.id}`).set('X-API-Key', org.key).expect(200);
    assert.equal(billing.body.events[0].action, 'tx.transfer');
    assert.equal(billing.body.events[0].cost_usd, 25);

    const accounts = await warden.request.get(`/api/v1/ledger/accounts?agent_id=${payer.id}`).set('X-API-Key', org.key).expect(200);
    assert.deepEqual(
      accounts.body.accounts.map((account: { balance: number; currency: string; exponent: number }) => [
        account.currency,
        account.exponent,
        account.balance,
      ]),
      [['USD', 2, 7_500]],
    );
  });

  it('refuses an overdraft with 409 INSUFFICIENT_FUNDS and writes nothing; the budget is not spent', async () => {
    const payer = await agentOf();
    const payee = await agentOf('payee');
    await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 100 }).expect(201);
    const transfers = await count(`SELECT count(*) AS n FROM ledger_transfers WHERE from_agent_id = $1`, [payer.id]);
    const res = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'USD', amount: 101, amount_usd: 1.01 }).expect(409);
    assert.equal(res.body.code, 'INSUFFICIENT_FUNDS');
    // An account it never had is an empty one.
    const none = await transfer(payee.secret, { to_agent_id: payer.id, currency: 'USD', amount: 1 }).expect(409);
    assert.equal(none.body.code, 'INSUFFICIENT_FUNDS');
    assert.equal(await balanceOf(payer.id), 100);
    assert.equal(await balanceOf(payee.id), 0);
    assert.equal(await count(`SELECT count(*) AS n FROM ledger_transfers WHERE from_agent_id = $1`, [payer.id]), transfers);
    const spent = await warden.database.dataSource.query(`SELECT spent_micros FROM agent_daily_spend WHERE agent_id = $1`, [payer.id]);
    assert.ok(spent.every((row: { spent_micros: string }) => Number(row.spent_micros) === 0));
  });

  it('refuses zero, negative and fractional amounts, unknown currencies and bad recipients with 422', async () => {
    const payer = await agentOf();
    const payee = await agentOf('payee');
    for (const amount of [0, -5, 1.5]) {
      const res = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'USD', amount }).expect(422);
      assert.equal(res.body.code, 'VALIDATION_FAILED', `amount ${amount}`);
    }
    const unknown = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'ABC', amount: 1 }).expect(422);
    assert.equal(unknown.body.code, 'UNKNOWN_CURRENCY');
    assert.equal((await deposit(org, { currency: 'ZZZ', amount: 1 }).expect(422)).body.code, 'UNKNOWN_CURRENCY');
    for (const body of [
      { currency: 'USD', amount: 1 },
      { to_agent_id: payee.id, to_address: 'acct_9', rail: 'ach', currency: 'USD', amount: 1 },
      { to_address: 'acct_9', rail: 'ledger', currency: 'USD', amount: 1 },
      { to_agent_id: payer.id, currency: 'USD', amount: 1 },
    ]) {
      const res = await transfer(payer.secret, body).expect(422);
      assert.equal(res.body.code, 'TRANSFER_RECIPIENT_INVALID', JSON.stringify(body));
    }
  });

  it("pays no other org's unlisted agent (404), and only an agent credential may transfer", async () => {
    const payer = await agentOf();
    const foreign = await createGovernedAgent(warden, other, { policy_ids: [], name: 'foreign' });
    const res = await transfer(payer.secret, { to_agent_id: foreign.id, currency: 'USD', amount: 1 }).expect(404);
    assert.equal(res.body.code, 'AGENT_NOT_FOUND');
    const human = await warden.request
      .post('/api/v1/tx/transfer')
      .set('X-API-Key', org.key)
      .send({ to_agent_id: payer.id, currency: 'USD', amount: 1 })
      .expect(403);
    assert.equal(human.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    await warden.request.post('/api/v1/tx/transfer').send({ to_agent_id: payer.id, currency: 'USD', amount: 1 }).expect(401);
  });

  it('honours an idempotency key: the same body answers the same transfer, another body is 409, concurrent repeats make one', async () => {
    const payer = await agentOf();
    const payee = await agentOf('payee');
    await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 1_000, idempotency_key: 'dep-1' }).expect(201);
    const again = await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 1_000, idempotency_key: 'dep-1' }).expect(201);
    assert.equal(await balanceOf(payer.id), 1_000, 'a repeated deposit is booked once');
    assert.equal(
      (await deposit(org, { currency: 'USD', amount: 5, idempotency_key: 'dep-1' }).expect(409)).body.code,
      'IDEMPOTENCY_KEY_REUSED',
    );
    assert.equal(again.body.kind, 'deposit');

    const body = { to_agent_id: payee.id, currency: 'USD', amount: 100, idempotency_key: 'order-7731' };
    const first = await transfer(payer.secret, body).expect(201);
    const replay = await transfer(payer.secret, body).expect(201);
    assert.deepEqual(replay.body, first.body);
    assert.equal(await balanceOf(payer.id), 900);
    const reused = await transfer(payer.secret, { ...body, amount: 101 }).expect(409);
    assert.equal(reused.body.code, 'IDEMPOTENCY_KEY_REUSED');

    const racing = { ...body, idempotency_key: 'order-race' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => transfer(payer.secret, racing)));
    assert.deepEqual(
      answers.map((res) => res.status),
      Array(6).fill(201),
    );
    assert.equal(new Set(answers.map((res) => res.body.id)).size, 1);
    assert.equal(await balanceOf(payer.id), 800);

    // A key older than 24 hours names nothing any more: the same key makes a new transfer.
    await warden.database.dataSource.query(`UPDATE ledger_transfers SET created_at = now() - interval '25 hours' WHERE id = $1`, [
      first.body.id,
    ]);
    const fresh = await transfer(payer.secret, body).expect(201);
    assert.notEqual(fresh.body.id, first.body.id);
    assert.equal(await balanceOf(payer.id), 700);
  });

  it('records other rails as pending rail_not_supported, and never stores or audits the shared payment token', async () => {
    const payer = await agentOf();
    const token = `spt_${randomBytes(16).toString('hex')}`;
    const res = await transfer(payer.secret, {
      to_address: 'merchant_acct_9921',
      rail: 'spt',
      currency: 'USD',
      amount: 1_999,
      amount_usd: 19.99,
      shared_payment_token: token,
      mandate_id: 'mandate_1',
      idempotency_key: 'order-7732',
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.pending_reason, 'rail_not_supported');
    assert.equal(res.body.has_shared_payment_token, true);
    assert.ok(!JSON.stringify(res.body).includes(token));
    assert.equal(await count(`SELECT count(*) AS n FROM ledger_entries WHERE transfer_id = $1`, [res.body.id]), 0);
    const events = await auditEventsOf(warden, res);
    assert.ok(events.some((event) => event.action === 'tx.transfer'));
    assert.ok(!JSON.stringify(events).includes(token));
    assert.ok(!warden.logs.some((line) => JSON.stringify(line).includes(token)));
    await assertNoSecretAtRest(warden, [token]);
  });

  it('governs by the value of amount, never the declared amount_usd: a mismatch and other currencies are 422', async () => {
    const payer = await agentOf();
    const payee = await agentOf('payee');
    await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 100_000 }).expect(201);
    await deposit(org, { agent_id: payer.id, currency: 'EUR', amount: 100_000 }).expect(201);
    // 500 USD declared as a cent, under the policy's max_cost_per_request of 100.
    const attack = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'USD', amount: 50_000, amount_usd: 0.01 }).expect(422);
    assert.equal(attack.body.code, 'AMOUNT_USD_MISMATCH');
    const euros = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'EUR', amount: 50_000, amount_usd: 0.01 }).expect(422);
    assert.equal(euros.body.code, 'CURRENCY_NOT_GOVERNABLE');
    assert.match(euros.body.message, /governed in USD/);
    const huge = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'USD', amount: 100_000_001 }).expect(422);
    assert.equal(huge.body.code, 'VALIDATION_FAILED');
    assert.equal(await count(`SELECT count(*) AS n FROM ledger_transfers WHERE from_agent_id = $1`, [payer.id]), 0);
    assert.equal(await balanceOf(payer.id), 100_000);
    // Without amount_usd the value is derived, and governance counts it: 500 USD is over the policy's 100.
    const derived = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'USD', amount: 50_000 }).expect(403);
    assert.match(derived.body.message, /cost_exceeds_max/);
    const fair = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'USD', amount: 1_999 }).expect(201);
    assert.equal(fair.body.amount_usd, 19.99);
    assert.equal(await balanceOf(payee.id), 1_999);
  });

  it("denies what the agent's governance denies (403 TRANSFER_DENIED), writing nothing", async () => {
    const payer = await agentOf();
    const payee = await agentOf('payee');
    await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 100_000 }).expect(201);
    const res = await transfer(payer.secret, { to_agent_id: payee.id, currency: 'USD', amount: 50_000, amount_usd: 500 }).expect(403);
    assert.equal(res.body.code, 'TRANSFER_DENIED');
    assert.match(res.body.message, /cost_exceeds_max/);
    assert.equal(await balanceOf(payer.id), 100_000);
    const stopped = await createGovernedAgent(warden, org, { policy_ids: [], name: 'no-policy' });
    const none = await transfer(stopped.secret, { to_agent_id: payee.id, currency: 'USD', amount: 1 }).expect(403);
    assert.match(none.body.message, /no_policy/);
  });

  it('waits for a human when policy says so, then settles that transfer once with its approval', async () => {
    const guarded = await createPolicy(warden, org, { approval_actions: ['tx.transfer'], max_cost_per_request: 100 });
    const payer = await agentOf('guarded', [guarded.id]);
    const payee = await agentOf('payee');
    await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 3_000 }).expect(201);
    const body = { to_agent_id: payee.id, currency: 'USD', amount: 4_000, amount_usd: 40, idempotency_key: 'big-one' };
    const pending = await transfer(payer.secret, body).expect(202);
    assert.equal(pending.body.pending_reason, 'approval_required');
    const approvalId = pending.body.approval_id;
    assert.match(approvalId, /^apr_/);
    assert.equal(await balanceOf(payer.id), 3_000);
    // The same request again, before anyone decided, is the same pending transfer.
    assert.equal((await transfer(payer.secret, body).expect(202)).body.id, pending.body.id);

    const early = await transfer(payer.secret, { ...body, approval_id: approvalId }).expect(409);
    assert.equal(early.body.code, 'TRANSFER_NOT_APPROVED');
    const unknown = await transfer(payer.secret, { ...body, approval_id: 'apr_00000000000000000000000000' }).expect(404);
    assert.equal(unknown.body.code, 'TRANSFER_NOT_FOUND');

    const approver = await createUserAndLogin(warden, org, `approver-${Date.now()}@example.com`, 'admin');
    await warden.request.post(`/api/v1/approvals/${approvalId}/approve`).set('Authorization', `Bearer ${approver.token}`).expect(200);
    const other = await transfer(payer.secret, {
      ...body,
      amount: 4_001,
      amount_usd: 40.01,
      idempotency_key: 'another',
      approval_id: approvalId,
    }).expect(409);
    assert.equal(other.body.code, 'TRANSFER_NOT_APPROVED');
    // Short of funds, the approval is not used up: it settles once the money is there.
    const short = await transfer(payer.secret, { ...body, approval_id: approvalId }).expect(409);
    assert.equal(short.body.code, 'INSUFFICIENT_FUNDS');
    await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 2_000 }).expect(201);
    const settled = await transfer(payer.secret, { ...body, approval_id: approvalId }).expect(201);
    assert.equal(settled.body.id, pending.body.id);
    assert.equal(settled.body.status, 'settled');
    assert.equal(await balanceOf(payer.id), 1_000);
    assert.equal(await balanceOf(payee.id), 4_000);
    // Repeating it changes nothing: the approval is used up and the transfer already settled.
    assert.equal((await transfer(payer.secret, { ...body, approval_id: approvalId }).expect(201)).body.id, pending.body.id);
    assert.equal((await transfer(payer.secret, body).expect(201)).body.status, 'settled');
    assert.equal(await balanceOf(payer.id), 1_000);
  });

  it('accepts the gateway key of the agent as its credential', async () => {
    const payer = await agentOf();
    const payee = await agentOf('payee');
    const vendor = await createVendor(warden, org, 'https://1.1.1.1/v1');
    const key = await createGatewayKey(warden, org, payer.id, vendor.id);
    await deposit(org, { agent_id: payer.id, currency: 'USD', amount: 500 }).expect(201);
    const res = await warden.request
      .post('/api/v1/tx/transfer')
      .set('Authorization', `Bearer ${key.key}`)
      .send({ to_agent_id: payee.id, currency: 'USD', amount: 500 })
      .expect(201);
    assert.equal(res.body.from_agent_id, payer.id);
    assert.equal(await balanceOf(payee.id), 500);
  });

  it("keeps each org's accounts and deposits to itself, and deposits need ledger.fund", async () => {
    const mine = await agentOf();
    await deposit(org, { currency: 'USD', amount: 77 }).expect(201);
    const theirs = await warden.request.get(`/api/v1/ledger/accounts?org_id=${org.id}`).set('X-API-Key', other.key).expect(404);
    assert.equal(theirs.body.code, 'ORG_NOT_FOUND');
    const filtered = await warden.request.get(`/api/v1/ledger/accounts?agent_id=${mine.id}`).set('X-API-Key', other.key).expect(200);
    assert.deepEqual(filtered.body.accounts, []);
    assert.equal((await deposit(other, { agent_id: mine.id, currency: 'USD', amount: 1 }).expect(404)).body.code, 'AGENT_NOT_FOUND');
    const member = await createUserAndLogin(warden, org, `member-${Date.now()}@example.com`, 'member');
    await warden.request.get('/api/v1/ledger/accounts').set('Authorization', `Bearer ${member.token}`).expect(200);
    const refused = await warden.request
      .post('/api/v1/ledger/deposits')
      .set('Authorization', `Bearer ${member.token}`)
      .send({ currency: 'USD', amount: 1 })
      .expect(403);
    assert.equal(refused.body.code, 'PERMISSION_DENIED');
    await warden.request.get('/api/v1/ledger/accounts').expect(401);
    await warden.request.get('/api/v1/ledger/accounts').set('X-Agent-Secret', mine.secret).expect(403);
    await warden.request.post('/api/v1/ledger/deposits').send({ currency: 'USD', amount: 1 }).expect(401);
    const malformed = '{"currency": "USD",';
    await warden.request.post('/api/v1/ledger/deposits').set('X-API-Key', org.key).type('json').send(malformed).expect(400);
    await warden.request.post('/api/v1/tx/transfer').set('X-Agent-Secret', mine.secret).type('json').send(malformed).expect(400);
    await warden.request.get('/api/v1/ledger/accounts?cursor=%%%').set('X-API-Key', org.key).expect(400);
    const page = await warden.request.get('/api/v1/ledger/accounts?limit=1').set('X-API-Key', org.key).expect(200);
    assert.equal(page.body.has_more, true);
    const next = await warden.request
      .get(`/api/v1/ledger/accounts?limit=1&cursor=${page.body.next_cursor}`)
      .set('X-API-Key', org.key)
      .expect(200);
    assert.notEqual(next.body.accounts[0].id, page.body.accounts[0].id);
  });

  it('keeps every balance at or above zero and their sum unchanged under 32 concurrent transfers for 10 seconds', async () => {
    const agents = await Promise.all([0, 1, 2, 3].map((i) => agentOf(`ring-${i}`)));
    for (const agent of agents) await deposit(org, { agent_id: agent.id, currency: 'USD', amount: 10_000 }).expect(201);
    const sum = async () => {
      const balances = await Promise.all(agents.map((agent) => balanceOf(agent.id)));
      return { balances, total: balances.reduce((a, b) => a + b, 0) };
    };
    assert.equal((await sum()).total, 40_000);
    const deadline = Date.now() + 10_000;
    const statuses = new Map<number, number>();
    const worker = async (seed: number) => {
      let i = seed;
      while (Date.now() < deadline) {
        i += 1;
        const from = agents[i % 4]!;
        const to = agents[(i * 7 + seed) % 4 === i % 4 ? (i + 1) % 4 : (i * 7 + seed) % 4]!;
        // Amounts up to 6,000 against 10,000 starting balances: many transfers overdraw and must be refused.
        const amount = 1 + ((i * 2_654_435_761 + seed) % 6_000);
        const res = await transfer(from.secret, { to_agent_id: to.id, currency: 'USD', amount });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 32 }, (_, seed) => worker(seed)));
    const { balances, total } = await sum();
    assert.ok(
      balances.every((balance) => balance >= 0),
      `balances ${balances}`,
    );
    assert.equal(total, 40_000);
    assert.deepEqual(
      [...statuses.keys()].filter((status) => status !== 201 && status !== 409),
      [],
    );
    assert.ok((statuses.get(201) ?? 0) > 0, 'some transfers settled');
    const ids = agents.map((agent) => agent.id);
    const settled = await count(`SELECT count(*) AS n FROM ledger_transfers WHERE from_agent_id = ANY($1) AND status = 'settled'`, [ids]);
    assert.equal(settled, statuses.get(201));
    const unbalanced = await count(
      `SELECT count(*) AS n FROM (SELECT transfer_id FROM ledger_entries GROUP BY transfer_id HAVING sum(amount) <> 0 OR count(*) <> 2) t`,
    );
    assert.equal(unbalanced, 0);
  });
});
