import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import type { MeteredCall } from '../src/modules/billing';
import { adminLogin, createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { type MailCatcher, startMailCatcher } from './support/mail-catcher';
import { type StripeFixture, startStripeFixture } from './support/stripe-fixture';
import { startTestApp, type TestApp } from './support/test-app';
import { openTestDatabase, type TestDatabase } from './support/test-database';

const SECRET_KEY = `sk_test_${randomBytes(12).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`;
const stripe = new Stripe('sk_test_signing_only');

async function mintAgent(warden: TestApp, org: TestOrg): Promise<string> {
  const res = await warden.request
    .post('/api/v1/agents')
    .set('X-API-Key', org.key)
    .send({ name: `agent-${randomBytes(3).toString('hex')}` });
  assert.equal(res.status, 201);
  return res.body.id;
}

/** A metered call as the gateway records it, at `occurredAt`. */
function call(org: TestOrg, agentId: string, costMicros: number, occurredAt: Date): MeteredCall {
  return {
    requestId: `req_${randomBytes(8).toString('hex')}`,
    orgId: org.id,
    agentId,
    keyId: null,
    action: 'POST /v1/chat/completions',
    allow: true,
    statusCode: 200,
    authorizedCostMicros: costMicros,
    costMicros,
    policyId: null,
    policyVersion: null,
    denyReason: null,
    meteringSource: 'declared',
    occurredAt,
  };
}

/** Posts a Stripe event signed as Stripe signs it (or with another secret). */
function deliver(warden: TestApp, event: Record<string, unknown>, secret = WEBHOOK_SECRET) {
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
  return warden.request
    .post('/api/v1/billing/stripe/webhook')
    .set('Content-Type', 'application/json')
    .set('Stripe-Signature', header)
    .send(payload);
}

const stripeEvent = (type: string, object: Record<string, unknown>) => ({
  id: `evt_${randomBytes(8).toString('hex')}`,
  object: 'event',
  type,
  api_version: '2025-01-01',
  created: Math.floor(Date.now() / 1000),
  data: { object },
});

const OPERATOR_EMAIL = 'operator@example.com';

describe('billing settings and Stripe (seed 001)', () => {
  let fixture: StripeFixture;
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  let mail: MailCatcher;
  /** The operator: a platform admin session, which alone sets the terms an org is billed on. */
  let operator: { 'X-Secu-Admin-Token': string };

  before(async () => {
    fixture = await startStripeFixture(SECRET_KEY);
    mail = await startMailCatcher();
    warden = await startTestApp({
      config: {
        smtpUrl: mail.url,
        platformAdminEmails: [OPERATOR_EMAIL],
        billing: { feeMode: 'take_rate', takeRateBps: 100, feePerActionMicros: 0 },
        stripe: { secretKey: SECRET_KEY, apiBase: fixture.url, webhookSecret: WEBHOOK_SECRET },
        // The SDK goes through the outbound client: a fixture on plain http at a loopback address is reachable only allow-listed.
        outbound: { allowedHosts: [new URL(fixture.url).host], timeoutMs: 5000, retryBaseMs: 10, caFile: undefined },
      },
    });
    org = await createOrg(warden);
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
    operator = { 'X-Secu-Admin-Token': await adminLogin(warden, mail, OPERATOR_EMAIL) };
  });
  after(async () => {
    await warden.close();
    await fixture.close();
    await mail.close();
  });

  it('shows the configured fee defaults until the org sets its own, which then price its calls (other orgs keep the defaults)', async () => {
    const defaults = await warden.request.get('/api/v1/billing/settings').set(key).expect(200);
    assert.deepEqual(
      { ...defaults.body, updated_at: undefined },
      {
        org_id: org.id,
        stripe_customer_id: null,
        billing_email: null,
        monthly_retainer_usd: 0,
        currency: 'usd',
        collection_method: 'charge_automatically',
        days_until_due: 30,
        stripe_enabled: true,
        take_rate_bps: 100,
        fee_mode: 'take_rate',
        fee_per_action_usd: 0,
        updated_at: undefined,
      },
    );
    // The terms are the operator's: the org's own owner key may not set (say, zero) them, and nothing changes.
    const terms = { monthly_retainer_usd: 500, fee_mode: 'per_action', fee_per_action_usd: 0.01 };
    for (const term of [{ take_rate_bps: 0 }, { fee_per_action_usd: 0 }, { monthly_retainer_usd: 0 }, { fee_mode: 'per_action' }, terms]) {
      const refused = await warden.request
        .post('/api/v1/billing/settings')
        .set(key)
        .send({ billing_email: 'owner@example.com', ...term })
        .expect(403);
      assert.equal(refused.body.code, 'BILLING_TERMS_OPERATOR_ONLY');
    }
    const unchanged = await warden.request.get('/api/v1/billing/settings').set(key).expect(200);
    assert.deepEqual(unchanged.body, defaults.body);
    const res = await warden.request
      .post('/api/v1/billing/settings')
      .set(operator)
      .send({ org_id: org.id, billing_email: 'Billing@Example.com', ...terms })
      .expect(200);
    assert.equal(res.body.billing_email, 'billing@example.com');
    assert.equal(res.body.monthly_retainer_usd, 500);
    assert.equal(res.body.fee_per_action_usd, 0.01);
    assert.equal(res.body.take_rate_bps, 100, 'unset fields keep the default');
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'billing.settings_updated');
    assert.equal((event.details.before as { fee_mode: string }).fee_mode, 'take_rate');

    const mine = await mintAgent(warden, org);
    const theirs = await mintAgent(warden, other);
    const at = new Date(Date.UTC(2026, 0, 15));
    await warden.services.billing.recordEvent(call(org, mine, 1_000_000, at));
    await warden.services.billing.recordEvent(call(other, theirs, 1_000_000, at));
    const fees = await warden.database.dataSource.query(
      `SELECT org_id, fee_micros::int AS fee FROM billing_events WHERE occurred_at = $1 ORDER BY org_id = $2 DESC`,
      [at, org.id],
    );
    assert.deepEqual(
      fees.map((row: { fee: number }) => row.fee),
      [10_000, 10_000],
    );
    assert.equal(fees[0].org_id, org.id);
    // $0.01 per action for this org; 1 % of $1 for the other: both 10 000 µ$ by design, so the modes differ but not the sums.
    await warden.request
      .post('/api/v1/billing/settings')
      .set(operator)
      .send({ org_id: org.id, fee_mode: 'take_rate', take_rate_bps: 250 })
      .expect(200);
    await warden.services.billing.recordEvent(call(org, mine, 1_000_000, new Date(at.getTime() + 1000)));
    const [latest] = await warden.database.dataSource.query(
      `SELECT fee_micros::int AS fee FROM billing_events WHERE org_id = $1 ORDER BY occurred_at DESC LIMIT 1`,
      [org.id],
    );
    assert.equal(latest.fee, 25_000, 'a change applies to the next call at once on this instance');
  });

  it('refuses bad settings (422), another org (404), a viewer changing them (403) and anonymous callers (401)', async () => {
    const bad = await warden.request.post('/api/v1/billing/settings').set(key).send({ monthly_retainer_usd: -1 }).expect(422);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
    await warden.request.post('/api/v1/billing/settings').set(key).send({ take_rate_bps: 10_001 }).expect(422);
    await warden.request.post('/api/v1/billing/settings').set(key).send({ currency: 'eur' }).expect(422);
    await warden.request.get(`/api/v1/billing/settings?org_id=${other.id}`).set(key).expect(404);
    await warden.request.post('/api/v1/billing/settings').set(key).send({ org_id: other.id, billing_email: 'x@example.com' }).expect(404);
    await warden.request.get('/api/v1/billing/settings?org_id=nope').set(key).expect(400);
    const viewer = await createUserAndLogin(warden, org, 'stripe-viewer@example.com', 'viewer');
    const auth = { Authorization: `Bearer ${viewer.token}` };
    await warden.request.get('/api/v1/billing/settings').set(auth).expect(200);
    await warden.request.get('/api/v1/billing/stripe/invoices').set(auth).expect(200);
    for (const [path, body] of [
      ['/api/v1/billing/settings', { billing_email: 'x@example.com' }],
      ['/api/v1/billing/stripe/customer', {}],
      ['/api/v1/billing/stripe/invoice', { from: '2026-01-01', to: '2026-02-01' }],
    ] as const) {
      const refused = await warden.request.post(path).set(auth).send(body).expect(403);
      assert.match(refused.body.message, /billing\.edit/);
      await warden.request.post(path).send(body).expect(401);
    }
    await warden.request.get('/api/v1/billing/settings').expect(401);
    const narrow = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'agents only', permissions: ['agent.read'] })
      .expect(201);
    for (const path of ['/api/v1/billing/settings', '/api/v1/billing/stripe/invoices']) {
      const refused = await warden.request.get(path).set('X-API-Key', narrow.body.key).expect(403);
      assert.match(refused.body.message, /billing\.read/);
    }
    for (const path of ['/api/v1/billing/settings', '/api/v1/billing/stripe/customer']) {
      const malformed = await warden.request
        .post(path)
        .set(key)
        .set('Content-Type', 'application/json')
        .send('{"billing_email":')
        .expect(400);
      assert.equal(malformed.body.code, 'MALFORMED_JSON');
    }
    await warden.request.get('/api/v1/billing/stripe/invoices').expect(401);
    await warden.request.get(`/api/v1/billing/stripe/invoices?org_id=${other.id}`).set(key).expect(404);
    await warden.request.get('/api/v1/billing/stripe/invoices?limit=0').set(key).expect(400);
  });

  it('creates the Stripe customer once (created, then already set) with an idempotency key, form-encoded', async () => {
    fixture.failNext('/v1/customers');
    const refused = await warden.request.post('/api/v1/billing/stripe/customer').set(key).send({ name: 'Acme Corp' }).expect(502);
    assert.equal(refused.body.code, 'STRIPE_ERROR');
    assert.ok(!JSON.stringify(refused.body).includes(SECRET_KEY));
    const before = fixture.requests.length;
    const first = await warden.request.post('/api/v1/billing/stripe/customer').set(key).send({ name: 'Acme Corp' }).expect(200);
    assert.equal(first.body.created, true);
    assert.match(first.body.stripe_customer_id, /^cus_/);
    const sent = fixture.requests.slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.path, '/v1/customers');
    assert.ok(sent[0]!.idempotencyKey?.startsWith(`warden-customer-${org.id}`));
    assert.deepEqual(sent[0]!.form, { name: 'Acme Corp', email: 'billing@example.com', 'metadata[warden_org_id]': org.id });
    const event = await theAuditEventOf(warden, first, [SECRET_KEY]);
    assert.equal(event.action, 'billing.stripe_customer_created');
    assert.equal(event.resource_id, first.body.stripe_customer_id);

    const again = await warden.request.post('/api/v1/billing/stripe/customer').set(key).send({}).expect(200);
    assert.deepEqual(again.body, { org_id: org.id, stripe_customer_id: first.body.stripe_customer_id, created: false });
    assert.equal(fixture.requests.length, before + 1, 'nothing more was sent to Stripe');
    const settings = await warden.request.get('/api/v1/billing/settings').set(key).expect(200);
    assert.equal(settings.body.stripe_customer_id, first.body.stripe_customer_id);
    const orgs = await warden.request.get('/api/v1/orgs').set(key).expect(200);
    assert.deepEqual(
      orgs.body.orgs.map((listed: { id: string; stripe_customer_id: string | null }) => [listed.id, listed.stripe_customer_id]),
      [[org.id, first.body.stripe_customer_id]],
    );
    // Another org cannot take (or probe with a 500) a customer id that is attached here.
    const taken = await warden.request
      .post('/api/v1/billing/settings')
      .set({ 'X-API-Key': other.key })
      .send({ stripe_customer_id: first.body.stripe_customer_id })
      .expect(409);
    assert.equal(taken.body.code, 'STRIPE_CUSTOMER_UNAVAILABLE');
    const untouched = await warden.request.get('/api/v1/billing/settings').set({ 'X-API-Key': other.key }).expect(200);
    assert.equal(untouched.body.stripe_customer_id, null);
    await warden.request.post('/api/v1/billing/stripe/customer').set(key).send({ org_id: other.id }).expect(404);
    await warden.request.post('/api/v1/billing/stripe/customer').set(key).send({ email: 'not an email' }).expect(422);
  });

  it("invoices a period's fees per agent plus the retainer in whole cents, once; a second call returns the same invoice", async () => {
    const [a, b] = [await mintAgent(warden, org), await mintAgent(warden, org)];
    const day = (date: number) => new Date(Date.UTC(2026, 2, date));
    // 250 bps: $1.234 → 30 850 µ$ → 3 cents; three calls of $0.20 → 15 000 µ$ → 1.5 cents, rounded once per agent to 2.
    await warden.services.billing.recordEvent(call(org, a, 1_234_000, day(3)));
    for (const date of [4, 5, 6]) await warden.services.billing.recordEvent(call(org, b, 200_000, day(date)));
    await warden.services.billing.recordEvent(call(org, b, 9_000_000, day(31)));
    const before = fixture.requests.length;
    const res = await warden.request
      .post('/api/v1/billing/stripe/invoice')
      .set(key)
      .send({ from: '2026-03-01', to: '2026-03-31', collection_method: 'send_invoice', days_until_due: 14 })
      .expect(201);
    assert.equal(res.body.amount_due_usd, 500.05);
    assert.equal(res.body.status, 'open');
    assert.equal(res.body.line_count, 3);
    assert.equal(res.body.period_from, '2026-03-01T00:00:00.000Z');
    const sent = fixture.requests.slice(before);
    assert.deepEqual(
      sent.map((request) => request.path),
      ['/v1/invoices', '/v1/invoiceitems', '/v1/invoiceitems', '/v1/invoiceitems', `/v1/invoices/${res.body.stripe_invoice_id}/finalize`],
    );
    assert.ok(sent.every((request) => request.idempotencyKey?.startsWith(`warden-${res.body.id}-`)));
    assert.equal(new Set(sent.map((request) => request.idempotencyKey)).size, sent.length);
    assert.equal(sent[0]!.form.collection_method, 'send_invoice');
    assert.equal(sent[0]!.form.days_until_due, '14');
    const amounts = sent.slice(1, 4).map((request) => Number(request.form.amount));
    assert.deepEqual(
      amounts.sort((x, y) => x - y),
      [2, 3, 50_000],
    );
    const stored = fixture.invoices.get(res.body.stripe_invoice_id)!;
    assert.equal(stored.amount_due, 50_005, "Stripe's total is Warden's");
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'billing.stripe_invoice_created');

    const count = fixture.requests.length;
    const again = await warden.request
      .post('/api/v1/billing/stripe/invoice')
      .set(key)
      .send({ from: '2026-03-01', to: '2026-03-31' })
      .expect(200);
    assert.deepEqual(again.body, res.body);
    assert.equal(fixture.requests.length, count, 'the existing invoice is answered without calling Stripe');

    const list = await warden.request.get('/api/v1/billing/stripe/invoices').set(key).expect(200);
    assert.deepEqual(list.body.invoices, [res.body]);
    const theirs = await warden.request.get('/api/v1/billing/stripe/invoices').set('X-API-Key', other.key).expect(200);
    assert.deepEqual(theirs.body.invoices, []);
  });

  it('finishes an invoice Stripe failed half-way on the next try, without a second invoice (502, then 201)', async () => {
    fixture.failNext('/v1/invoiceitems');
    const period = { from: '2026-04-01', to: '2026-05-01' };
    const failed = await warden.request.post('/api/v1/billing/stripe/invoice').set(key).send(period).expect(502);
    assert.equal(failed.body.code, 'STRIPE_ERROR');
    const invoicesBefore = fixture.invoices.size;
    const retried = await warden.request.post('/api/v1/billing/stripe/invoice').set(key).send(period).expect(201);
    assert.equal(fixture.invoices.size, invoicesBefore, 'the retry replayed the draft Stripe made the first time');
    assert.equal(retried.body.amount_due_usd, 500);
  });

  it('makes one invoice of concurrent requests for one period', async () => {
    const invoicesBefore = fixture.invoices.size;
    const period = { from: '2026-05-01', to: '2026-06-01' };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => warden.request.post('/api/v1/billing/stripe/invoice').set(key).send(period)),
    );
    assert.ok(answers.every((res) => res.status === 200 || res.status === 201));
    assert.equal(new Set(answers.map((res) => res.body.stripe_invoice_id)).size, 1);
    assert.equal(fixture.invoices.size, invoicesBefore + 1);
    const rows = await warden.database.dataSource.query(
      `SELECT count(*)::int AS n FROM stripe_invoices WHERE org_id = $1 AND period_from = '2026-05-01T00:00:00Z'`,
      [org.id],
    );
    assert.equal(rows[0].n, 1);
  });

  it('refuses an empty or backwards period (422), an org without a customer (409) or with Stripe disabled (409)', async () => {
    const empty = await warden.request
      .post('/api/v1/billing/stripe/invoice')
      .set(key)
      .send({ from: '2026-03-01', to: '2026-03-01' })
      .expect(422);
    assert.equal(empty.body.code, 'INVALID_TIME_RANGE');
    await warden.request.post('/api/v1/billing/stripe/invoice').set(key).send({ from: '2026-02-30', to: '2026-03-01' }).expect(400);
    const none = await warden.request
      .post('/api/v1/billing/stripe/invoice')
      .set('X-API-Key', other.key)
      .send({ from: '2026-03-01', to: '2026-04-01' })
      .expect(409);
    assert.equal(none.body.code, 'STRIPE_CUSTOMER_REQUIRED');
    await warden.request
      .post('/api/v1/billing/stripe/invoice')
      .set(key)
      .send({ org_id: other.id, from: '2026-03-01', to: '2026-04-01' })
      .expect(404);
    const third = await createOrg(warden, 'enterprise', 'Disabled org');
    await warden.request.post('/api/v1/billing/stripe/customer').set('X-API-Key', third.key).send({}).expect(200);
    await warden.request.post('/api/v1/billing/settings').set('X-API-Key', third.key).send({ stripe_enabled: false }).expect(200);
    const disabled = await warden.request
      .post('/api/v1/billing/stripe/invoice')
      .set('X-API-Key', third.key)
      .send({ from: '2026-03-01', to: '2026-04-01' })
      .expect(409);
    assert.equal(disabled.body.code, 'STRIPE_DISABLED');
  });

  it('records invoice.paid from a signed webhook once; a redelivery is a duplicate; a bad signature is 400 and changes nothing', async () => {
    const [invoice] = (await warden.request.get('/api/v1/billing/stripe/invoices?limit=1').set(key).expect(200)).body.invoices;
    const paid = stripeEvent('invoice.paid', { id: invoice.stripe_invoice_id, object: 'invoice', customer: invoice.stripe_customer_id });
    const forged = await deliver(warden, paid, `whsec_${randomBytes(16).toString('hex')}`).expect(400);
    assert.equal(forged.body.code, 'WEBHOOK_SIGNATURE_INVALID');
    await warden.request
      .post('/api/v1/billing/stripe/webhook')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(paid))
      .expect(400);
    const stale = stripe.webhooks.generateTestHeaderString({
      payload: JSON.stringify(paid),
      secret: WEBHOOK_SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    await warden.request
      .post('/api/v1/billing/stripe/webhook')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', stale)
      .send(JSON.stringify(paid))
      .expect(400);
    const seen = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM stripe_webhook_events WHERE id = $1`, [paid.id]);
    assert.equal(seen[0].n, 0);
    const listed = await warden.request.get('/api/v1/billing/stripe/invoices?limit=1').set(key).expect(200);
    assert.equal(listed.body.invoices[0].status, 'open');

    const first = await deliver(warden, paid).expect(200);
    assert.deepEqual(first.body, { received: true, duplicate: false });
    const event = await theAuditEventOf(warden, first);
    assert.deepEqual([event.org_id, event.action, event.actor_type], [org.id, 'billing.stripe_webhook_received', 'system']);
    const again = await deliver(warden, paid).expect(200);
    assert.deepEqual(again.body, { received: true, duplicate: true });
    const after = await warden.request.get('/api/v1/billing/stripe/invoices?limit=1').set(key).expect(200);
    assert.equal(after.body.invoices[0].status, 'paid');
    await deliver(warden, stripeEvent('charge.succeeded', { id: 'ch_1' })).expect(200);
  });

  it('marks a failed payment and a deleted customer on the invoice rows, and detaches the customer', async () => {
    // May's invoice was paid (above); March's payment fails, then Stripe deletes the customer.
    const [may, , march] = (await warden.request.get('/api/v1/billing/stripe/invoices').set(key).expect(200)).body.invoices;
    await deliver(warden, stripeEvent('invoice.payment_failed', { id: march.stripe_invoice_id, object: 'invoice' })).expect(200);
    let listed = (await warden.request.get('/api/v1/billing/stripe/invoices').set(key).expect(200)).body.invoices;
    assert.deepEqual(
      listed.map((invoice: { status: string }) => invoice.status),
      ['paid', 'open', 'payment_failed'],
    );
    await deliver(warden, stripeEvent('customer.deleted', { id: may.stripe_customer_id, object: 'customer', deleted: true })).expect(200);
    listed = (await warden.request.get('/api/v1/billing/stripe/invoices').set(key).expect(200)).body.invoices;
    assert.deepEqual(
      listed.map((invoice: { status: string }) => invoice.status),
      ['paid', 'customer_deleted', 'customer_deleted'],
      'a paid invoice stays paid',
    );
    const settings = await warden.request.get('/api/v1/billing/settings').set(key).expect(200);
    assert.equal(settings.body.stripe_customer_id, null);
    const recreated = await warden.request.post('/api/v1/billing/stripe/customer').set(key).send({}).expect(200);
    assert.equal(recreated.body.created, true);
    assert.notEqual(recreated.body.stripe_customer_id, may.stripe_customer_id);
  });

  it('refuses a webhook body over 256 KiB (413)', async () => {
    const payload = JSON.stringify({ ...stripeEvent('invoice.paid', { id: 'in_x' }), padding: 'x'.repeat(300 * 1024) });
    await warden.request
      .post('/api/v1/billing/stripe/webhook')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }))
      .send(payload)
      .expect(413);
  });
});

describe("signup's seed-001 billing fields", () => {
  let warden: TestApp;

  before(async () => {
    warden = await startTestApp();
  });
  after(() => warden.close());

  it('makes stripe_email the billing email, daily_budget_usd the budget new agents start with, and create_wallet a ledger account', async () => {
    const res = await warden.request
      .post('/api/v1/auth/signup')
      .send({
        email: 'founder@example.com',
        password: 'correct horse battery staple',
        stripe_email: 'Invoices@Example.com',
        daily_budget_usd: 25,
        create_wallet: true,
        network: 'base',
      })
      .expect(201);
    const auth = { Authorization: `Bearer ${res.body.token}` };
    const settings = await warden.request.get('/api/v1/billing/settings').set(auth).expect(200);
    assert.equal(settings.body.billing_email, 'invoices@example.com');
    const defaulted = await warden.request.post('/api/v1/agents').set(auth).send({ name: 'first' }).expect(201);
    assert.equal(defaulted.body.daily_budget, 25);
    const own = await warden.request.post('/api/v1/agents').set(auth).send({ name: 'second', daily_budget: 3 }).expect(201);
    assert.equal(own.body.daily_budget, 3);
    const accounts = await warden.database.dataSource.query(
      `SELECT owner_type, currency, network, balance::int AS balance FROM ledger_accounts WHERE org_id = $1`,
      [res.body.org.id],
    );
    assert.deepEqual(accounts, [{ owner_type: 'org', currency: 'USD', network: 'base', balance: 0 }]);

    const plain = await warden.request
      .post('/api/v1/auth/signup')
      .send({ email: 'plain@example.com', password: 'correct horse battery staple' });
    assert.equal(plain.status, 201);
    const plainAuth = { Authorization: `Bearer ${plain.body.token}` };
    const agent = await warden.request.post('/api/v1/agents').set(plainAuth).send({ name: 'unbudgeted' }).expect(201);
    assert.equal(agent.body.daily_budget, null);
    const none = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM ledger_accounts WHERE org_id = $1`, [
      plain.body.org.id,
    ]);
    assert.equal(none[0].n, 0);
  });
});

describe('billing without Stripe configured', () => {
  let warden: TestApp;
  let org: TestOrg;

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden);
  });
  after(() => warden.close());

  it('answers 503 STRIPE_NOT_CONFIGURED for the Stripe operations, and everything else works', async () => {
    const key = { 'X-API-Key': org.key };
    for (const [path, body] of [
      ['/api/v1/billing/stripe/customer', {}],
      ['/api/v1/billing/stripe/invoice', { from: '2026-03-01', to: '2026-04-01' }],
    ] as const) {
      const res = await warden.request.post(path).set(key).send(body).expect(503);
      assert.equal(res.body.code, 'STRIPE_NOT_CONFIGURED');
    }
    const hook = await warden.request
      .post('/api/v1/billing/stripe/webhook')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', 't=1,v1=00')
      .send('{}')
      .expect(503);
    assert.equal(hook.body.code, 'STRIPE_NOT_CONFIGURED');
    await warden.request.get('/api/v1/billing/stripe/invoices').set(key).expect(200);
    await warden.request.post('/api/v1/billing/settings').set(key).send({ billing_email: 'ops@example.com' }).expect(200);
  });
});

describe('Stripe goes through the outbound client (issue 16)', () => {
  let fixture: StripeFixture;
  let database: TestDatabase;
  const apps: TestApp[] = [];

  before(async () => {
    fixture = await startStripeFixture(SECRET_KEY);
    database = await openTestDatabase();
  });
  after(async () => {
    for (const app of apps) await app.close();
    await database.close();
    await fixture.close();
  });

  /** A Warden whose STRIPE_API_BASE is `apiBase`, with `allowedHosts` in OUTBOUND_ALLOWED_HOSTS. */
  async function wardenCalling(apiBase: string, allowedHosts: string[]) {
    const app = await startTestApp({
      database,
      config: {
        stripe: { secretKey: SECRET_KEY, apiBase, webhookSecret: WEBHOOK_SECRET },
        outbound: { allowedHosts, timeoutMs: 5000, retryBaseMs: 10, caFile: undefined },
      },
    });
    apps.push(app);
    return app;
  }

  it('refuses a STRIPE_API_BASE the outbound rules forbid with 502 STRIPE_ERROR naming why; no request leaves', async () => {
    const port = new URL(fixture.url).port;
    const cases: Array<[string, string[], RegExp]> = [
      // The fixture itself, not allow-listed: plain http, and a loopback address.
      [fixture.url, [], /must use https \(plain http only for hosts in OUTBOUND_ALLOWED_HOSTS\)/],
      [`https://127.0.0.1:${port}`, [], /127\.0\.0\.1 is a loopback address/],
      // A name that resolves to loopback is checked by the address it resolves to.
      [`https://localhost:${port}`, ['127.0.0.1'], /localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/],
      // Allow-listed on another port only.
      [`http://127.0.0.1:${port}`, ['127.0.0.1:1'], /must use https/],
      // Cloud metadata, as an IP literal (Node calls no DNS lookup for it).
      ['https://169.254.169.254', [], /: 169\.254\.169\.254 is a cloud metadata address/],
      ['http://[::ffff:169.254.169.254]', ['127.0.0.1'], /must use https/],
      ['https://[::ffff:169.254.169.254]', [], /inside ::ffff:0:0\/96/],
    ];
    for (const [apiBase, allowedHosts, why] of cases) {
      const warden = await wardenCalling(apiBase, allowedHosts);
      const org = await createOrg(warden);
      const res = await warden.request.post('/api/v1/billing/stripe/customer').set('X-API-Key', org.key).send({ name: 'Acme' }).expect(502);
      assert.equal(res.body.code, 'STRIPE_ERROR', apiBase);
      assert.match(res.body.message, /outbound rules refuse STRIPE_API_BASE, so Stripe was not called: /, apiBase);
      assert.match(res.body.message, why, apiBase);
      assert.ok(!JSON.stringify(res.body).includes(SECRET_KEY));
      // Nothing was created half-way: no customer id on the org's settings.
      const settings = await warden.request.get('/api/v1/billing/settings').set('X-API-Key', org.key).expect(200);
      assert.equal(settings.body.stripe_customer_id, null, apiBase);
    }
    assert.deepEqual(fixture.requests, [], 'no request reached the Stripe fixture');
  });

  it('reaches the fixture once its host:port is in OUTBOUND_ALLOWED_HOSTS', async () => {
    const warden = await wardenCalling(fixture.url, [new URL(fixture.url).host]);
    const org = await createOrg(warden);
    const res = await warden.request.post('/api/v1/billing/stripe/customer').set('X-API-Key', org.key).send({ name: 'Acme' }).expect(200);
    assert.match(res.body.stripe_customer_id, /^cus_/);
    assert.equal(fixture.requests.length, 1);
  });
});
