import type { components, operations } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { BadRequestError, ValidationError } from '../../errors/api-error';
import { Batcher } from '../../lib/batcher';
import { microsToUsd } from '../../lib/money';
import type { OrgService } from '../orgs';
import { type BillingEventRow, BillingStore, type GovernanceBasis } from './billing-store';
import { type FeeSettingsSource, feeMicros } from './fees';

type BillingEvent = components['schemas']['BillingEvent'];
type BillingSummary = components['schemas']['BillingSummary'];
type SummaryQuery = NonNullable<operations['getBillingSummary']['parameters']['query']>;

/** At most this many billing events go into one statement (17 parameters each). */
const EVENT_BATCH = 200;

export interface BudgetReservationRequest {
  orgId: string;
  agentId: string;
  costMicros: number;
  /** The agent's daily budget; null = unlimited (the spend is still counted). */
  dailyBudgetMicros: number | null;
  now?: Date;
  /**
   * Commit without waiting for the disk (see BillingStore.reserve). Ignored inside a transaction,
   * where it would relax every write of it. Default false.
   */
  relaxedCommit?: boolean;
  /** What the call was decided on: if given, nothing is reserved unless it still stands (`stale` then). */
  basis?: GovernanceBasis;
}

/** `day` is the UTC day (YYYY-MM-DD) the reservation counted on: pass it to adjustSpend. */
export type BudgetReservation =
  | { ok: true; remainingMicros: number | null; day: string }
  | { ok: false; remainingMicros: number; resetsAt: Date; day: string };

/** A reservation refused because what the call was decided on no longer stands (its `basis`). */
export interface StaleReservation {
  ok: false;
  stale: true;
}

export interface SpendAdjustment {
  orgId: string;
  agentId: string;
  /** The UTC day (YYYY-MM-DD) of the reservation being corrected. */
  day: string;
  /** Negative releases spend (the upstream call failed, or cost less), positive adds (it cost more). */
  deltaMicros: number;
}

export interface MeteredCall {
  requestId: string;
  orgId: string;
  agentId: string;
  keyId: string | null;
  action: string;
  allow: boolean;
  statusCode: number;
  authorizedCostMicros: number;
  costMicros: number;
  policyId: string | null;
  policyVersion: number | null;
  denyReason: string | null;
  meteringSource: 'declared' | 'vendor';
  /** When the call happened; now by default. */
  occurredAt?: Date;
}

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;

/** The UTC day of an instant, as Postgres' `date` takes it. */
export const utcDay = (now: Date): string => now.toISOString().slice(0, 10);
/** When the UTC day of `now` ends: a daily budget's reset. */
export const utcMidnightAfter = (now: Date): Date => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));

/** Amounts come from Warden's own code (the gateway, decisions), so a bad one is a bug: fail loudly, write nothing. */
function assertMicros(name: string, value: number, signed = false): void {
  if (!Number.isSafeInteger(value) || (!signed && value < 0)) throw new TypeError(`${name} must be a whole number of micro-dollars`);
}

const toEvent = (row: BillingEventRow): BillingEvent => ({
  id: row.id,
  request_id: row.request_id,
  org_id: row.org_id,
  agent_id: row.agent_id,
  key: row.key_id,
  action: row.action,
  allow: row.allow,
  status_code: row.status_code,
  authorized_cost_usd: microsToUsd(row.authorized_cost_micros),
  cost_usd: microsToUsd(row.cost_micros),
  fee_usd: microsToUsd(row.fee_micros),
  policy_id: row.policy_id,
  policy_version: row.policy_version,
  deny_reason: row.deny_reason,
  metering_source: row.metering_source,
  timestamp: row.occurred_at.toISOString(),
});

/**
 * Daily budgets and billing telemetry. The budget guarantee: reservations never take an agent's
 * spend for a UTC day past its budget, however many run at once (each is one atomic statement).
 * Only a correction to a vendor-reported cost above the declared one (adjustSpend) can pass it,
 * by at most that one call's difference; the next reservation then finds no room.
 */
export class BillingService {
  private readonly store: BillingStore;
  private readonly events: Batcher<BillingEventRow>;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly fees: FeeSettingsSource,
  ) {
    this.store = new BillingStore(db);
    this.events = new Batcher((rows) => this.db.detached(() => this.store.insertEvents(rows)), EVENT_BATCH);
  }

  reserveBudget(input: BudgetReservationRequest & { basis: GovernanceBasis }): Promise<BudgetReservation | StaleReservation>;
  reserveBudget(input: BudgetReservationRequest): Promise<BudgetReservation>;
  async reserveBudget(input: BudgetReservationRequest): Promise<BudgetReservation | StaleReservation> {
    assertMicros('costMicros', input.costMicros);
    if (input.dailyBudgetMicros !== null) assertMicros('dailyBudgetMicros', input.dailyBudgetMicros);
    const now = input.now ?? new Date();
    const day = utcDay(now);
    const budget = input.dailyBudgetMicros;
    // Relaxed only where the reservation is its own commit: inside a transaction it would relax everything else in it.
    const relaxed = input.relaxedCommit === true && !this.db.inTransaction;
    const basis = input.basis ?? null;
    const { standing, spent } = await this.store.reserve(input.orgId, input.agentId, day, input.costMicros, budget, relaxed, basis);
    if (!standing) return { ok: false, stale: true };
    if (spent !== null) return { ok: true, remainingMicros: budget === null ? null : budget - spent, day };
    const current = await this.store.spentOn(input.agentId, day);
    return { ok: false, remainingMicros: Math.max(0, budget! - current), resetsAt: utcMidnightAfter(now), day };
  }

  /** Whether what a call was decided on still stands, for a ruling that reserves nothing (a refusal). */
  stands(orgId: string, agentId: string, basis: GovernanceBasis): Promise<boolean> {
    return this.store.stands(orgId, agentId, basis);
  }

  async adjustSpend(input: SpendAdjustment): Promise<void> {
    assertMicros('deltaMicros', input.deltaMicros, true);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(input.day)) throw new TypeError('day must be a UTC date, YYYY-MM-DD');
    if (input.deltaMicros === 0) return;
    await this.store.adjust(input.orgId, input.agentId, input.day, input.deltaMicros);
  }

  /**
   * Outside a transaction, the events of concurrent calls are written together (group commit: one
   * statement and one commit for many); inside one, the event commits or rolls back with it.
   */
  private writeEvent(row: BillingEventRow): Promise<void> {
    return this.db.inTransaction ? this.store.insertEvents([row]) : this.events.add(row);
  }

  async recordEvent(event: MeteredCall): Promise<void> {
    assertMicros('authorizedCostMicros', event.authorizedCostMicros);
    assertMicros('costMicros', event.costMicros);
    const occurredAt = event.occurredAt ?? new Date();
    const settings = await this.fees.forOrg(event.orgId);
    await this.writeEvent({
      // The id carries the event's own time, so ids and timestamps sort alike.
      id: newId('bev', occurredAt.getTime()),
      org_id: event.orgId,
      agent_id: event.agentId,
      key_id: event.keyId,
      request_id: event.requestId,
      action: event.action,
      allow: event.allow,
      status_code: event.statusCode,
      authorized_cost_micros: event.authorizedCostMicros,
      cost_micros: event.costMicros,
      fee_micros: feeMicros(settings, event.allow, event.costMicros),
      policy_id: event.policyId,
      policy_version: event.policyVersion,
      deny_reason: event.denyReason,
      metering_source: event.meteringSource,
      occurred_at: occurredAt,
    });
  }

  /** What each of the org's agents has reserved on the current UTC day (agents with no spend are absent). */
  async spentToday(orgId: string, now = new Date()): Promise<Array<{ agentId: string; spentMicros: number }>> {
    const rows = await this.store.spentByAgent(orgId, utcDay(now));
    return rows.map((row) => ({ agentId: row.agent_id, spentMicros: row.spent_micros }));
  }

  async listEvents(principal: Principal, query: { org_id?: string; agent_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal, query.org_id);
    const rows = await this.store.listEvents(orgId, {
      agentId: query.agent_id ?? null,
      afterId: decodeCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = pageOf(rows, query.limit);
    return { events: page.items.map(toEvent), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async summary(principal: Principal, query: SummaryQuery, now = new Date()): Promise<BillingSummary> {
    const orgId = await this.orgs.scope(principal, query.org_id);
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const from = query.from === undefined ? monthStart : instant(query.from, 'from');
    const to = query.to === undefined ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) : instant(query.to, 'to');
    if (from >= to) throw rangeError('from', 'must be before to');
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS)
      throw rangeError('to', `must be at most ${MAX_RANGE_DAYS} days after from`);
    const agentId = query.agent_id ?? null;
    const [totals, settings] = await Promise.all([this.store.totals(orgId, agentId, from, to), this.fees.forOrg(orgId)]);
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      org_id: orgId,
      agent_id: agentId,
      total_events: totals.total_events,
      allowed_events: totals.allowed_events,
      denied_events: totals.total_events - totals.allowed_events,
      total_cost_usd: microsToUsd(totals.cost_micros),
      total_fee_usd: microsToUsd(totals.fee_micros),
      take_rate_bps: settings.takeRateBps,
      fee_mode: settings.feeMode,
      fee_per_action_usd: microsToUsd(settings.feePerActionMicros),
    };
  }
}

/** A query's date-time, or date (its UTC midnight); the spec's pattern has checked the shape, not the calendar. */
export function instant(raw: string, field: string): Date {
  const value = new Date(raw.length === 10 ? `${raw}T00:00:00Z` : raw);
  // Date rolls 2026-02-30 over into March: a date that does not exist is refused, not moved.
  const [year, month, date] = raw.slice(0, 10).split('-').map(Number) as [number, number, number];
  const asWritten = new Date(Date.UTC(year, month - 1, date));
  if (Number.isNaN(value.getTime()) || asWritten.getUTCMonth() !== month - 1 || asWritten.getUTCDate() !== date) {
    throw new BadRequestError(`Query parameter '${field}' is not a real date or date-time.`, 'INVALID_PARAMETER', [
      { location: 'query', field, message: 'is not a real date or date-time', rule: 'format' },
    ]);
  }
  return value;
}

export function rangeError(field: string, message: string): ValidationError {
  return new ValidationError(`${field} ${message}.`, 'INVALID_TIME_RANGE', [{ location: 'query', field, message, rule: 'range' }]);
}
