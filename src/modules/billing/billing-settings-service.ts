import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { BillingConfig } from '../../config/config';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { ConflictError, ForbiddenError } from '../../errors/api-error';
import { microsToUsd, usdToMicros } from '../../lib/money';
import type { LedgerService } from '../ledger';
import type { OrgService } from '../orgs';
import { type BillingSettingsChange, type BillingSettingsRow, BillingSettingsStore } from './billing-settings-store';
import type { FeeSettings, FeeSettingsSource } from './fees';

type BillingSettings = components['schemas']['BillingSettings'];
type SettingsBody = operations['updateBillingSettings']['requestBody']['content']['application/json'];
type SignupSeed = Pick<
  operations['signup']['requestBody']['content']['application/json'],
  'stripe_email' | 'daily_budget_usd' | 'create_wallet' | 'network'
>;

/** How long a fee setting read for the metering hot path is reused: a change reaches other instances within it. */
const FEE_CACHE_MS = 5_000;
const FEE_CACHE_MAX = 10_000;

/**
 * An org's fee settings: its own where it set them, the operator's configured defaults otherwise.
 * Every metered call asks, so answers are kept for a few seconds (and dropped at once when this
 * instance changes them).
 */
export class OrgFeeSettings implements FeeSettingsSource {
  private readonly cache = new Map<string, { settings: FeeSettings; until: number }>();

  constructor(
    private readonly store: BillingSettingsStore,
    private readonly defaults: BillingConfig,
  ) {}

  resolve(row: BillingSettingsRow | undefined): FeeSettings {
    return {
      feeMode: row?.fee_mode ?? this.defaults.feeMode,
      takeRateBps: row?.take_rate_bps ?? this.defaults.takeRateBps,
      feePerActionMicros: row?.fee_per_action_micros ?? this.defaults.feePerActionMicros,
    };
  }

  async forOrg(orgId: string): Promise<FeeSettings> {
    const cached = this.cache.get(orgId);
    if (cached && cached.until > Date.now()) return cached.settings;
    const settings = this.resolve(await this.store.find(orgId));
    if (this.cache.size >= FEE_CACHE_MAX) this.cache.clear();
    this.cache.set(orgId, { settings, until: Date.now() + FEE_CACHE_MS });
    return settings;
  }

  forget(orgId: string): void {
    this.cache.delete(orgId);
  }
}

/** An org's billing settings (seed 001): Stripe customer, invoice terms, retainer, fees. */
export class BillingSettingsService {
  readonly store: BillingSettingsStore;
  readonly fees: OrgFeeSettings;

  constructor(
    db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    defaults: BillingConfig,
  ) {
    this.store = new BillingSettingsStore(db);
    this.fees = new OrgFeeSettings(this.store, defaults);
  }

  view(orgId: string, row: BillingSettingsRow | undefined): BillingSettings {
    const fees = this.fees.resolve(row);
    return {
      org_id: orgId,
      stripe_customer_id: row?.stripe_customer_id ?? null,
      billing_email: row?.billing_email ?? null,
      monthly_retainer_usd: (row?.monthly_retainer_cents ?? 0) / 100,
      currency: 'usd',
      collection_method: row?.collection_method ?? 'charge_automatically',
      days_until_due: row?.days_until_due ?? 30,
      stripe_enabled: row?.stripe_enabled ?? true,
      take_rate_bps: fees.takeRateBps,
      fee_mode: fees.feeMode,
      fee_per_action_usd: microsToUsd(fees.feePerActionMicros),
      updated_at: row?.updated_at.toISOString() ?? null,
    };
  }

  /** The Stripe customers of these orgs (orgs without one are absent). */
  async stripeCustomers(orgIds: string[]): Promise<Map<string, string>> {
    const rows = orgIds.length === 0 ? [] : await this.store.customers(orgIds);
    return new Map(rows.map((row) => [row.org_id, row.stripe_customer_id]));
  }

  async get(principal: Principal, requestedOrgId?: string): Promise<BillingSettings> {
    const orgId = await this.orgs.scope(principal, requestedOrgId);
    return this.view(orgId, await this.store.find(orgId));
  }

  async update(principal: Principal, body: SettingsBody): Promise<BillingSettings> {
    const orgId = await this.orgs.scope(principal, body.org_id);
    assertMayChangeTerms(principal, body);
    const before = await this.store.find(orgId, true);
    noteBefore(this.view(orgId, before));
    const change: BillingSettingsChange = {
      stripe_customer_id: body.stripe_customer_id,
      billing_email: body.billing_email?.toLowerCase() ?? body.billing_email,
      monthly_retainer_cents: body.monthly_retainer_usd === undefined ? undefined : Math.round(body.monthly_retainer_usd * 100),
      currency: body.currency,
      collection_method: body.collection_method,
      days_until_due: body.days_until_due,
      stripe_enabled: body.stripe_enabled,
      take_rate_bps: body.take_rate_bps,
      fee_mode: body.fee_mode,
      fee_per_action_micros: body.fee_per_action_usd === undefined ? undefined : usdToMicros(body.fee_per_action_usd),
    };
    const row = await this.store.upsert(orgId, change).catch((error: unknown) => {
      // The customer id is unique across orgs (webhooks find the org by it); Stripe's ids are not guessable.
      if (isUniqueViolation(error)) {
        throw new ConflictError('This Stripe customer cannot be attached to this org.', 'STRIPE_CUSTOMER_UNAVAILABLE');
      }
      throw error;
    });
    this.fees.forget(orgId);
    return this.view(orgId, row);
  }

  /**
   * Signup's seed-001 fields, in the signup's transaction: `stripe_email` is the billing email,
   * `daily_budget_usd` the budget the org's new agents start with, `create_wallet` (with `network`)
   * opens the org's ledger account.
   */
  async seedSignup(orgId: string, input: SignupSeed, ledger: Pick<LedgerService, 'ensureOrgAccount'>): Promise<void> {
    if (input.stripe_email !== undefined || input.daily_budget_usd !== undefined) {
      await this.store.upsert(orgId, {
        billing_email: input.stripe_email?.toLowerCase(),
        default_daily_budget_micros: input.daily_budget_usd === undefined ? undefined : usdToMicros(input.daily_budget_usd),
      });
    }
    if (input.create_wallet) await ledger.ensureOrgAccount(orgId, 'USD', input.network ?? null);
  }

  /** The budget (US dollars) the org's new agents start with; null where signup set none. */
  async defaultDailyBudgetUsd(orgId: string): Promise<number | null> {
    const micros = (await this.store.find(orgId))?.default_daily_budget_micros;
    return micros === undefined || micros === null ? null : microsToUsd(micros);
  }
}

/** The fields that say what the operator charges the org: an org's own owner or admin may not lower them. */
const BILLING_TERMS = ['take_rate_bps', 'fee_mode', 'fee_per_action_usd', 'monthly_retainer_usd'] as const;

function assertMayChangeTerms(principal: Principal, body: SettingsBody): void {
  const terms = BILLING_TERMS.filter((field) => body[field] !== undefined);
  if (terms.length === 0 || principal.permissions.has('billing.terms.edit')) return;
  throw new ForbiddenError(
    `${terms.join(', ')}: the terms an org is billed on are set by the operator (a platform admin session), not by the org.`,
    'BILLING_TERMS_OPERATOR_ONLY',
  );
}
