import type Stripe from 'stripe';
import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { StripeConfig } from '../../config/config';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { BadGatewayError, BadRequestError, ConflictError, ServiceUnavailableError } from '../../errors/api-error';
import { outboundAgent } from '../../outbound/outbound-agent';
import { DestinationRefusedError, DestinationUnresolvableError, type OutboundHttp } from '../../outbound/outbound-http';
import type { AuditService } from '../audit';
import type { OrgService } from '../orgs';
import { instant, rangeError } from './billing-service';
import type { BillingSettingsService } from './billing-settings-service';
import { type StripeInvoiceRow, type StripeInvoiceStatus, StripeStore } from './stripe-store';

type StripeInvoice = components['schemas']['StripeInvoice'];
type CustomerBody = operations['createStripeCustomer']['requestBody']['content']['application/json'];
type InvoiceBody = operations['createStripeInvoice']['requestBody']['content']['application/json'];

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;
/** Stripe signs a delivery with a timestamp; older than this and it is refused as a possible replay. */
const WEBHOOK_TOLERANCE_SECONDS = 300;

const toInvoice = (row: StripeInvoiceRow): StripeInvoice => ({
  id: row.id,
  org_id: row.org_id,
  stripe_invoice_id: row.stripe_invoice_id!,
  stripe_customer_id: row.stripe_customer_id,
  period_from: row.period_from.toISOString(),
  period_to: row.period_to.toISOString(),
  amount_due_usd: row.amount_due_cents / 100,
  currency: row.currency,
  status: row.status,
  hosted_invoice_url: row.hosted_invoice_url,
  line_count: row.line_count,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

/** The SDK is some 200 modules: loaded with the first Stripe call, not on every start-up. */
const stripeSdk = () => require('stripe') as typeof Stripe;

const notConfigured = (variable: string) =>
  new ServiceUnavailableError(`Stripe is not configured on this server (${variable}).`, 'STRIPE_NOT_CONFIGURED');

/**
 * The SDK's client for the configured API base (host, port and protocol: the SDK takes no URL),
 * connecting through an agent of the outbound client: every connection obeys the SSRF rules.
 */
function stripeClient(config: StripeConfig, outbound: OutboundHttp): Stripe | undefined {
  if (config.secretKey === undefined) return undefined;
  const base = new URL(config.apiBase);
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  const StripeSdk = stripeSdk();
  return new StripeSdk(config.secretKey, {
    host: base.hostname.replace(/^\[|\]$/g, ''),
    port: base.port || (protocol === 'http' ? 80 : 443),
    protocol,
    httpClient: StripeSdk.createNodeHttpClient(outboundAgent(outbound, `${protocol}:`)),
    maxNetworkRetries: 2,
    timeout: 30_000,
    telemetry: false,
  });
}

/** A Stripe call; its failures become 502 STRIPE_ERROR (what Stripe said, or why it may not be called; never the key). */
async function calling<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof stripeSdk().errors.StripeConnectionError) {
      const detail = error.detail;
      if (detail instanceof DestinationRefusedError || detail instanceof DestinationUnresolvableError) {
        throw new BadGatewayError(
          `Warden's outbound rules refuse STRIPE_API_BASE, so Stripe was not called: ${detail.message}. ` +
            'An internal Stripe-compatible host must be listed in OUTBOUND_ALLOWED_HOSTS.',
          'STRIPE_ERROR',
        );
      }
    }
    if (error instanceof stripeSdk().errors.StripeError)
      throw new BadGatewayError(`Stripe refused the request: ${error.message}`, 'STRIPE_ERROR');
    throw error;
  }
}

/**
 * The org's Stripe customer and invoices, and Stripe's webhooks. Stripe is always called outside
 * any transaction: a claim row is committed first, Stripe is called with idempotency keys derived
 * from it, and the answer is written after, so a failure half-way is finished by the next try.
 *
 * The SDK connects through the outbound client's agent (src/outbound/outbound-agent.ts), like
 * every call out: STRIPE_API_BASE must be https and reach a public address unless its host is in
 * OUTBOUND_ALLOWED_HOSTS, or the call fails with 502 STRIPE_ERROR before anything is sent.
 */
export class StripeBillingService {
  private readonly store: StripeStore;
  /** Made on first use, so that the SDK is not loaded before. */
  private client: Stripe | undefined;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope' | 'get'>,
    private readonly settings: BillingSettingsService,
    private readonly audit: Pick<AuditService, 'record'>,
    private readonly config: StripeConfig,
    private readonly outbound: OutboundHttp,
  ) {
    this.store = new StripeStore(db);
  }

  private configuredClient(): Stripe | undefined {
    this.client ??= stripeClient(this.config, this.outbound);
    return this.client;
  }

  private stripe(): Stripe {
    const client = this.configuredClient();
    if (!client) throw notConfigured('STRIPE_SECRET_KEY');
    return client;
  }

  private record(principal: Principal, orgId: string, action: string, resourceId: string, details: Record<string, unknown>) {
    return this.audit.record({
      orgId,
      actor: actorOf(principal),
      action,
      resourceType: 'billing',
      resourceId,
      outcome: 'success',
      ...currentRequestFacts(),
      details,
    });
  }

  async createCustomer(principal: Principal, body: CustomerBody) {
    const orgId = await this.orgs.scope(principal, body.org_id);
    const stripe = this.stripe();
    const settings = await this.settings.store.find(orgId);
    if (settings?.stripe_customer_id) return { org_id: orgId, stripe_customer_id: settings.stripe_customer_id, created: false };
    const org = await this.orgs.get(orgId);
    // Concurrent calls share the key, so Stripe makes one customer; a customer Stripe deleted since changed the row, so the key.
    const version = settings?.updated_at.getTime() ?? 0;
    const customer = await calling(() =>
      stripe.customers.create(
        { name: body.name ?? org.name, email: body.email ?? settings?.billing_email ?? undefined, metadata: { warden_org_id: orgId } },
        { idempotencyKey: `warden-customer-${orgId}-${version}` },
      ),
    );
    const attached = await this.settings.store.attachCustomer(orgId, customer.id);
    const created = attached === customer.id;
    if (created) await this.record(principal, orgId, 'billing.stripe_customer_created', customer.id, { stripe_customer_id: customer.id });
    return { org_id: orgId, stripe_customer_id: attached, created };
  }

  async createInvoice(principal: Principal, body: InvoiceBody): Promise<{ created: boolean; invoice: StripeInvoice }> {
    const orgId = await this.orgs.scope(principal, body.org_id);
    const stripe = this.stripe();
    const from = instant(body.from, 'from');
    const to = instant(body.to, 'to');
    if (from >= to) throw rangeError('from', 'must be before to');
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS)
      throw rangeError('to', `must be at most ${MAX_RANGE_DAYS} days after from`);
    const existing = await this.store.findPeriod(orgId, from, to);
    if (existing?.stripe_invoice_id) return { created: false, invoice: toInvoice(existing) };
    const settings = await this.settings.store.find(orgId);
    const customer = settings?.stripe_customer_id;
    if (!settings || !customer) {
      throw new ConflictError(
        'The org has no Stripe customer: create one first (POST /api/v1/billing/stripe/customer).',
        'STRIPE_CUSTOMER_REQUIRED',
      );
    }
    if (!settings.stripe_enabled) throw new ConflictError("Stripe invoicing is off in the org's billing settings.", 'STRIPE_DISABLED');
    const lines = await this.store.feeLines(orgId, from, to);
    const retainer = settings.monthly_retainer_cents;
    const total = lines.reduce((sum, line) => sum + line.fee_cents, retainer);
    const claim =
      existing ??
      (await this.store.claimPeriod({
        id: newId('inv'),
        org_id: orgId,
        stripe_customer_id: customer,
        period_from: from,
        period_to: to,
        amount_due_cents: total,
        currency: settings.currency,
        status: 'draft',
        line_count: lines.length + (retainer > 0 ? 1 : 0),
      })) ??
      (await this.store.findPeriod(orgId, from, to))!;
    const collection = body.collection_method ?? settings.collection_method;
    const period = `${from.toISOString()} to ${to.toISOString()}`;
    const key = (part: string) => ({ idempotencyKey: `warden-${claim.id}-${part}` });
    const draft = await calling(() =>
      stripe.invoices.create(
        {
          customer,
          currency: claim.currency,
          collection_method: collection,
          ...(collection === 'send_invoice' && { days_until_due: body.days_until_due ?? settings.days_until_due }),
          auto_advance: false,
          pending_invoice_items_behavior: 'exclude',
          description: `Warden fees, ${period}`,
          metadata: { warden_org_id: orgId, warden_invoice_id: claim.id },
        },
        key('invoice'),
      ),
    );
    const item = (part: string, amount: number, description: string, metadata: Record<string, string>) =>
      calling(() =>
        stripe.invoiceItems.create({ customer, invoice: draft.id, amount, currency: claim.currency, description, metadata }, key(part)),
      );
    for (const line of lines) {
      await item(`item-${line.agent_id}`, line.fee_cents, `Agent ${line.agent_id}: fees, ${period}`, { warden_agent_id: line.agent_id });
    }
    if (retainer > 0) await item('retainer', retainer, `Monthly retainer, ${period}`, { warden_line: 'retainer' });
    const finalized = await calling(() => stripe.invoices.finalizeInvoice(draft.id, {}, key('finalize')));
    const row = await this.store.completed(claim.id, {
      invoiceId: finalized.id!,
      status: (finalized.status ?? 'open') as StripeInvoiceStatus,
      hostedUrl: finalized.hosted_invoice_url ?? null,
    });
    await this.record(principal, orgId, 'billing.stripe_invoice_created', row.id, {
      stripe_invoice_id: row.stripe_invoice_id,
      period_from: row.period_from.toISOString(),
      period_to: row.period_to.toISOString(),
      amount_due_usd: row.amount_due_cents / 100,
    });
    // Created by this call, a retry that finished a claim a failed call left included.
    return { created: true, invoice: toInvoice(row) };
  }

  async listInvoices(principal: Principal, query: { org_id?: string; limit?: number }) {
    const orgId = await this.orgs.scope(principal, query.org_id);
    return { invoices: (await this.store.list(orgId, query.limit ?? 50)).map(toInvoice) };
  }

  /** Verifies and applies one delivery; `duplicate` when its event id was processed before. */
  async receiveWebhook(raw: Buffer, signature: string | undefined): Promise<{ received: true; duplicate: boolean }> {
    if (this.config.webhookSecret === undefined) throw notConfigured('STRIPE_WEBHOOK_SECRET');
    let event: Stripe.Event;
    try {
      // The SDK's verifier needs no API key: a server with only the webhook secret still checks signatures.
      event = (this.configuredClient() ?? new (stripeSdk())('sk_unused')).webhooks.constructEvent(
        raw,
        signature ?? '',
        this.config.webhookSecret,
        WEBHOOK_TOLERANCE_SECONDS,
      );
    } catch {
      throw new BadRequestError('The Stripe-Signature header does not match the body, or is stale.', 'WEBHOOK_SIGNATURE_INVALID');
    }
    const changed = await this.db.transaction(async () => {
      if (!(await this.store.firstDelivery(event.id, event.type))) return undefined;
      const object = event.data.object as { id?: string };
      if (typeof object.id !== 'string') return [];
      if (event.type === 'invoice.paid') return this.store.setStatusByStripeId(object.id, 'paid');
      if (event.type === 'invoice.payment_failed') return this.store.setStatusByStripeId(object.id, 'payment_failed');
      if (event.type === 'customer.deleted') {
        const orgIds = await this.settings.store.detachCustomer(object.id);
        const rows = await this.store.customerDeleted(object.id);
        return orgIds.length > 0 && rows.length === 0 ? orgIds.map((orgId) => ({ org_id: orgId, id: object.id! })) : rows;
      }
      return [];
    });
    if (changed === undefined) return { received: true, duplicate: true };
    for (const orgId of new Set(changed.map((row) => row.org_id))) {
      await this.store.noteEventOrg(event.id, orgId);
      await this.audit.record({
        orgId,
        actor: { type: 'system', id: null },
        action: 'billing.stripe_webhook_received',
        resourceType: 'stripe_event',
        resourceId: event.id,
        outcome: 'success',
        ...currentRequestFacts(),
        details: { type: event.type, object_id: (event.data.object as { id?: string }).id ?? null },
      });
    }
    return { received: true, duplicate: false };
  }
}
