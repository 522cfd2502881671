import type { components, operations } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from '../../errors/api-error';
import { microsToUsd, usdToMicros } from '../../lib/money';
import { assertKnownCurrency, idempotencyKeyReused, type LedgerService, requestDigest } from '../ledger';
import type { OrgService } from '../orgs';
import type { RegistryService } from '../registry';
import { type HireRow, HireStore } from './hire-store';

type Hire = components['schemas']['Hire'];
type TxStats = components['schemas']['TxStats'];
type HireInput = operations['hireAgent']['requestBody']['content']['application/json'];

const DAY_MS = 86_400_000;
/** How long a public answer is reused: the statistics are for a dashboard, not for reconciliation. */
const PUBLIC_CACHE_MS = 60_000;
/** Periods cached at once; the oldest answers go first beyond it. */
const PUBLIC_CACHE_ENTRIES = 100;

const optionalUsd = (micros: string | null) => (micros === null ? null : microsToUsd(micros));
const optionalMicros = (usd: number | undefined) => (usd === undefined ? null : String(usdToMicros(usd)));

const invalid = (field: string, message: string) =>
  new ValidationError(`${field} ${message}.`, 'VALIDATION_FAILED', [{ location: 'body', field, message, rule: 'hire' }]);

/** [from, to): default the 30 days before now; 400 for a reversed period or one over 366 days. */
function periodOf(query: { from?: string; to?: string }, roundToMinute: boolean): { from: Date; to: Date } {
  // Whole minutes, outwards, so a cached answer covers every transfer up to now.
  const round = (date: Date, to: (minutes: number) => number) => (roundToMinute ? new Date(to(date.getTime() / 60_000) * 60_000) : date);
  const to = round(query.to ? new Date(query.to) : new Date(), Math.ceil);
  const from = round(query.from ? new Date(query.from) : new Date(to.getTime() - 30 * DAY_MS), Math.floor);
  if (from.getTime() > to.getTime() || to.getTime() - from.getTime() > 366 * DAY_MS) {
    throw new BadRequestError('The period must run forwards (from before to) and last at most 366 days.', 'INVALID_PARAMETER', [
      { location: 'query', field: 'from', message: 'must be before to, at most 366 days earlier', rule: 'period' },
    ]);
  }
  return { from, to };
}

/**
 * The marketplace: hiring listed agents of other orgs (with an initial charge through the ledger),
 * and transfer statistics, the org's own and public aggregates that name no org or agent.
 */
export class MarketplaceService {
  private readonly store: HireStore;
  private readonly publicCache = new Map<string, { expires: number; stats: TxStats }>();

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly registry: Pick<RegistryService, 'listedAgent'>,
    private readonly ledger: Pick<LedgerService, 'chargeOrg' | 'stats' | 'transferById'>,
  ) {
    this.store = new HireStore(db);
  }

  async hire(principal: Principal, input: HireInput): Promise<Hire> {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const listed = await this.registry.listedAgent(input.to_agent_id);
    if (!listed) throw new NotFoundError(`No active agent '${input.to_agent_id}' is listed on the registry network.`, 'AGENT_NOT_LISTED');
    if (listed.orgId === orgId) {
      throw new ValidationError('An org cannot hire its own agent.', 'TRANSFER_RECIPIENT_INVALID', [
        { location: 'body', field: 'to_agent_id', message: 'is an agent of your own org', rule: 'recipient' },
      ]);
    }
    const rail = input.rail ?? 'ledger';
    const currency = assertKnownCurrency(input.currency ?? 'USD');
    const charging = input.charge_now === true;
    if (charging && input.amount === undefined) throw invalid('amount', 'is needed with charge_now');
    if (charging && rail !== 'ledger') throw invalid('rail', 'must be ledger to charge now');
    const digest = requestDigest(input);
    if (input.idempotency_key !== undefined) {
      const earlier = await this.store.findByIdempotencyKey(orgId, input.idempotency_key);
      if (earlier && !earlier.request_digest?.equals(digest)) throw idempotencyKeyReused();
      if (earlier) return this.present(earlier);
    }
    const id = newId('hire');
    return this.db.transaction(async () => {
      const charge = charging
        ? await this.ledger.chargeOrg({
            orgId,
            toAgentId: listed.agentId,
            toOrgId: listed.orgId,
            currency,
            amount: input.amount!,
            amountUsdMicros: input.amount_usd === undefined ? null : usdToMicros(input.amount_usd),
            network: input.network ?? null,
            asset: input.asset ?? null,
            metadata: { hire_id: id },
          })
        : null;
      try {
        const row = await this.store.insert({
          id,
          org_id: orgId,
          agent_id: listed.agentId,
          pricing_model: input.pricing_model ?? 'per_task',
          rail,
          currency,
          amount: input.amount === undefined ? null : String(input.amount),
          amount_usd_micros: optionalMicros(input.amount_usd),
          network: input.network ?? null,
          asset: input.asset ?? null,
          daily_budget_micros: optionalMicros(input.daily_budget_usd),
          charge_transfer_id: charge?.id ?? null,
          idempotency_key: input.idempotency_key ?? null,
          request_digest: digest,
        });
        return this.toHire(row, charge);
      } catch (error) {
        if (isUniqueViolation(error))
          throw new ConflictError(`The org has already hired agent '${listed.agentId}'.`, 'AGENT_ALREADY_HIRED');
        throw error;
      }
    });
  }

  async orgStats(principal: Principal, query: { org_id?: string; from?: string; to?: string }): Promise<TxStats> {
    const orgId = await this.orgs.scope(principal, query.org_id);
    return { org_id: orgId, ...(await this.stats(orgId, periodOf(query, false))) };
  }

  /** Every org's aggregates, computed at most once a minute per period (widened to whole minutes). */
  async publicStats(query: { from?: string; to?: string }): Promise<TxStats> {
    const period = periodOf(query, true);
    const key = `${period.from.getTime()}-${period.to.getTime()}`;
    const now = Date.now();
    const cached = this.publicCache.get(key);
    if (cached && cached.expires > now) return cached.stats;
    const stats = await this.stats(null, period);
    this.publicCache.delete(key);
    this.publicCache.set(key, { expires: now + PUBLIC_CACHE_MS, stats });
    if (this.publicCache.size > PUBLIC_CACHE_ENTRIES) this.publicCache.delete(this.publicCache.keys().next().value!);
    return stats;
  }

  private async stats(orgId: string | null, period: { from: Date; to: Date }): Promise<TxStats> {
    const [ledger, hires] = await Promise.all([
      this.ledger.stats(orgId, period.from, period.to),
      this.store.count(orgId, period.from, period.to),
    ]);
    return { from: period.from.toISOString(), to: period.to.toISOString(), ...ledger, hires };
  }

  private async present(row: HireRow): Promise<Hire> {
    return this.toHire(row, row.charge_transfer_id ? await this.ledger.transferById(row.charge_transfer_id) : null);
  }

  private toHire(row: HireRow, charge: Hire['charge'] | null): Hire {
    return {
      id: row.id,
      org_id: row.org_id,
      agent_id: row.agent_id,
      pricing_model: row.pricing_model as Hire['pricing_model'],
      rail: row.rail as Hire['rail'],
      currency: row.currency,
      amount: row.amount === null ? null : Number(row.amount),
      amount_usd: optionalUsd(row.amount_usd_micros),
      network: row.network,
      asset: row.asset,
      daily_budget_usd: optionalUsd(row.daily_budget_micros),
      ...(charge ? { charge } : {}),
      idempotency_key: row.idempotency_key,
      created_at: row.created_at.toISOString(),
    };
  }
}
