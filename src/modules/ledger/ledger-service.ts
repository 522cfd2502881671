import { createHash } from 'node:crypto';
import type { components, operations } from '../../../generated/api';
import { currentRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ApiError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import { canonicalJson } from '../../lib/canonical-json';
import { MICROS_PER_USD, microsToUsd } from '../../lib/money';
import type { AgentService } from '../agents';
import type { AuditService } from '../audit';
import { type CallToDecide, type DecisionService, type GovernedCaller, governedCaller, type Ruling } from '../decisions';
import type { OrgService } from '../orgs';
import type { RegistryService } from '../registry';
import { assertKnownCurrency, currencyExponent } from './currencies';
import { type AccountOwner, type AccountRow, LedgerStore, type NewTransfer, type TransferRow } from './ledger-store';

type Transfer = components['schemas']['Transfer'];
type LedgerAccount = components['schemas']['LedgerAccount'];
type TransferInput = operations['createTransfer']['requestBody']['content']['application/json'];
type DepositInput = operations['createLedgerDeposit']['requestBody']['content']['application/json'];

/** A transfer as the API answers it: 201 once settled, 202 while it waits. */
export interface TransferAnswer {
  status: 201 | 202;
  body: Transfer;
}

/** A payment from an org's own account to an agent's, which the marketplace makes when it hires. */
export interface OrgCharge {
  orgId: string;
  toAgentId: string;
  toOrgId: string;
  currency: string;
  amount: number;
  amountUsdMicros: number | null;
  network: string | null;
  asset: string | null;
  metadata: Record<string, string>;
}

export const toTransfer = (row: TransferRow): Transfer => ({
  id: row.id,
  kind: row.kind,
  org_id: row.org_id,
  from_agent_id: row.from_agent_id,
  to_agent_id: row.to_agent_id,
  to_address: row.to_address,
  rail: row.rail as Transfer['rail'],
  currency: row.currency,
  amount: Number(row.amount),
  amount_usd: row.amount_usd_micros === null ? null : microsToUsd(row.amount_usd_micros),
  network: row.network,
  asset: row.asset,
  mandate_id: row.mandate_id,
  has_shared_payment_token: row.has_shared_payment_token,
  status: row.status,
  pending_reason: row.pending_reason,
  approval_id: row.approval_id,
  idempotency_key: row.idempotency_key,
  metadata: row.metadata,
  created_at: row.created_at.toISOString(),
  settled_at: row.settled_at?.toISOString() ?? null,
});

const toAccount = (row: AccountRow): LedgerAccount => ({
  id: row.id,
  owner_type: row.owner_type as LedgerAccount['owner_type'],
  org_id: row.org_id!,
  agent_id: row.agent_id,
  currency: row.currency,
  exponent: currencyExponent(row.currency)!,
  network: row.network,
  balance: Number(row.balance),
  created_at: row.created_at.toISOString(),
});

const answer = (row: TransferRow): TransferAnswer => ({ status: row.status === 'settled' ? 201 : 202, body: toTransfer(row) });

/** What an idempotency key is compared by: the body as sent, with the secret token as its digest and without approval_id. */
export function requestDigest(body: Record<string, unknown>): Buffer {
  const { approval_id: _approval, shared_payment_token: token, ...rest } = body;
  const hashed = typeof token === 'string' ? { ...rest, shared_payment_token: createHash('sha256').update(token).digest('hex') } : rest;
  return createHash('sha256').update(canonicalJson(hashed)).digest();
}

export const idempotencyKeyReused = () =>
  new ConflictError('This idempotency key was used in the last 24 hours with a different request body.', 'IDEMPOTENCY_KEY_REUSED');
const recipientInvalid = (message: string) =>
  new ValidationError(message, 'TRANSFER_RECIPIENT_INVALID', [{ location: 'body', field: 'to_agent_id', message, rule: 'recipient' }]);
const insufficientFunds = (balance: bigint, amount: bigint, currency: string) =>
  new ConflictError(
    `The paying account holds ${balance} minor units of ${currency}, less than the ${amount} asked; nothing was transferred.`,
    'INSUFFICIENT_FUNDS',
  );

/** The most a governed transfer may be worth: `amount_usd`'s maximum, which keeps its micro-dollars exact. */
const MAX_GOVERNED_CENTS = 100_000_000;

/**
 * What governance counts a transfer as, in micro-dollars: derived from `amount` (USD cents), never taken
 * on the payer's word. Warden has no exchange rates, so a transfer in any other currency has no cost it
 * could trust, and is refused; a declared `amount_usd` must agree with `amount` exactly.
 */
function governedMicros(input: TransferInput): number {
  if (input.currency !== 'USD') {
    const message = `Transfers are governed in USD; Warden has no exchange rate for ${input.currency}, so it cannot count the cost.`;
    throw new ValidationError(message, 'CURRENCY_NOT_GOVERNABLE', [
      { location: 'body', field: 'currency', message: 'must be USD', rule: 'governance' },
    ]);
  }
  if (input.amount > MAX_GOVERNED_CENTS) {
    throw new ValidationError('A transfer is worth at most 1,000,000 USD.', 'VALIDATION_FAILED', [
      { location: 'body', field: 'amount', message: `must be at most ${MAX_GOVERNED_CENTS} cents`, rule: 'maximum' },
    ]);
  }
  // Both sides are the double nearest the same decimal, so equality is exact: 19.99 matches 1999, 19.989999 does not.
  if (input.amount_usd !== undefined && input.amount_usd !== input.amount / 100) {
    const message = `amount_usd ${input.amount_usd} is not amount ${input.amount} cents in US dollars (${input.amount / 100}).`;
    throw new ValidationError(message, 'AMOUNT_USD_MISMATCH', [
      { location: 'body', field: 'amount_usd', message: 'must equal amount / 100', rule: 'amount_usd' },
    ]);
  }
  return input.amount * (MICROS_PER_USD / 100);
}

/** A ledger-rail move of money, already governed: who pays, who is paid, and the transfer row it writes. */
interface Move {
  from: AccountOwner;
  to: AccountOwner;
  /** The outside world's account: it goes negative by what has been paid in. */
  fromMayGoNegative: boolean;
  transfer: Omit<NewTransfer, 'from_account_id' | 'to_account_id' | 'status' | 'pending_reason'>;
}

/** Thrown inside a transaction whose idempotency key a concurrent request took first: the earlier transfer stands. */
class KeyTakenError extends Error {}

/**
 * The double-entry ledger. Every settled transfer is two entries summing to zero; balances change in
 * the same transaction as the entries, under row locks taken in id order, and the paying balance is
 * checked under its lock, so it never goes below zero (the database refuses it too). An agent's
 * transfer is governed like a gateway call (action `tx.transfer`, cost its US-dollar value: only USD transfers are governable).
 */
export class LedgerService {
  private readonly store: LedgerStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'row'>,
    private readonly registry: Pick<RegistryService, 'listedAgent'>,
    private readonly decisions: Pick<DecisionService, 'decide' | 'settle'>,
    private readonly audit: Pick<AuditService, 'append'>,
  ) {
    this.store = new LedgerStore(db);
  }

  /** The org's account in the currency, opened if it has none (signup's `create_wallet`). */
  async ensureOrgAccount(orgId: string, currency: string, network?: string | null): Promise<{ id: string }> {
    const account = await this.store.ensureAccount(
      newId('acct'),
      { type: 'org', orgId, agentId: null },
      assertKnownCurrency(currency),
      network ?? null,
    );
    return { id: account.id };
  }

  async listAccounts(principal: Principal, query: { org_id?: string; agent_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal, query.org_id);
    const rows = await this.store.listAccounts(orgId, query.agent_id ?? null, decodeCursor(query.cursor), query.limit);
    const page = pageOf(rows, query.limit);
    return { accounts: page.items.map(toAccount), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** Money paid in from outside, credited to the org's account or one of its agents'. */
  async deposit(principal: Principal, input: DepositInput): Promise<Transfer> {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const currency = assertKnownCurrency(input.currency);
    if (input.agent_id !== undefined) await this.agents.row(orgId, input.agent_id);
    const scope = `deposit:${orgId}`;
    const digest = requestDigest(input);
    const earlier = await this.earlier(scope, input.idempotency_key, digest);
    if (earlier) return toTransfer(earlier);
    const row = await this.settleOnLedger({
      from: { type: 'external', orgId: null, agentId: null },
      to: input.agent_id ? { type: 'agent', orgId, agentId: input.agent_id } : { type: 'org', orgId, agentId: null },
      fromMayGoNegative: true,
      transfer: {
        ...this.blankTransfer('deposit', orgId, currency, input.amount),
        to_agent_id: input.agent_id ?? null,
        idempotency_scope: scope,
        idempotency_key: input.idempotency_key ?? null,
        request_digest: digest,
        metadata: input.reference ? { reference: input.reference } : {},
      },
    });
    return toTransfer(row);
  }

  /** The marketplace's initial charge of a hire, in the caller's transaction. */
  async chargeOrg(charge: OrgCharge): Promise<Transfer> {
    const row = await this.settleOnLedger({
      from: { type: 'org', orgId: charge.orgId, agentId: null },
      to: { type: 'agent', orgId: charge.toOrgId, agentId: charge.toAgentId },
      fromMayGoNegative: false,
      transfer: {
        ...this.blankTransfer('hire_charge', charge.orgId, assertKnownCurrency(charge.currency), charge.amount),
        to_agent_id: charge.toAgentId,
        amount_usd_micros: charge.amountUsdMicros === null ? null : String(charge.amountUsdMicros),
        network: charge.network,
        asset: charge.asset,
        metadata: charge.metadata,
      },
    });
    return toTransfer(row);
  }

  async transferById(id: string): Promise<Transfer> {
    return toTransfer((await this.store.findTransfer(id))!);
  }

  /** Aggregates of the transfers created in [from, to), the org's (as payer) or every org's. */
  async stats(orgId: string | null, from: Date, to: Date) {
    const [counts, volume] = await Promise.all([this.store.stats(orgId, from, to), this.store.volume(orgId, from, to)]);
    return {
      transfers: Number(counts.transfers),
      settled: Number(counts.settled),
      pending: Number(counts.pending),
      volume: volume.map((row) => ({ currency: row.currency, amount: Number(row.amount), count: Number(row.count) })),
      amount_usd_total: microsToUsd(counts.usd_micros),
    };
  }

  /** `POST /tx/transfer`: an agent pays from its own account, as its governance allows. */
  async transfer(principal: Principal, input: TransferInput): Promise<TransferAnswer> {
    const caller = governedCaller(principal);
    try {
      return await this.governedTransfer(caller, input);
    } catch (error) {
      if (!(error instanceof KeyTakenError)) throw error;
      // A concurrent request with the same key wrote its transfer first: that one is the answer to both.
      return answer((await this.earlier(caller.agentId, input.idempotency_key, requestDigest(input)))!);
    }
  }

  private async governedTransfer(caller: GovernedCaller, input: TransferInput): Promise<TransferAnswer> {
    const currency = assertKnownCurrency(input.currency);
    const costMicros = governedMicros(input);
    const rail = input.rail ?? 'ledger';
    const recipientOrgId = await this.recipientOrg(caller, input, rail);
    const digest = requestDigest(input);
    const earlier = await this.earlier(caller.agentId, input.idempotency_key, digest);
    const awaitingApproval = earlier?.pending_reason === 'approval_required';
    if (earlier && !(awaitingApproval && input.approval_id)) return answer(earlier);
    if (input.approval_id !== undefined) return this.redeem(caller, input, costMicros, digest, recipientOrgId);

    const call = this.callOf(input, costMicros, null);
    const ruling = await this.decisions.decide(caller, call);
    const fields: Move['transfer'] = {
      ...this.blankTransfer('transfer', caller.orgId, currency, input.amount),
      from_agent_id: caller.agentId,
      to_agent_id: input.to_agent_id ?? null,
      to_address: input.to_address ?? null,
      rail,
      amount_usd_micros: String(costMicros),
      network: input.network ?? null,
      asset: input.asset ?? null,
      mandate_id: input.mandate_id ?? null,
      has_shared_payment_token: input.shared_payment_token !== undefined,
      idempotency_scope: caller.agentId,
      idempotency_key: input.idempotency_key ?? null,
      request_digest: digest,
      metadata: input.metadata ?? {},
    };
    const from: AccountOwner = { type: 'agent', orgId: caller.orgId, agentId: caller.agentId };
    if (ruling.decision === 'deny') return this.refuse(caller, call, ruling);
    if (ruling.decision === 'approval_required' || rail !== 'ledger') {
      const reason = ruling.decision === 'approval_required' ? 'approval_required' : 'rail_not_supported';
      return this.governed(caller, call, ruling, () =>
        this.recordPending(caller, from, { ...fields, approval_id: ruling.approvalId }, reason),
      );
    }
    const to: AccountOwner = { type: 'agent', orgId: recipientOrgId, agentId: input.to_agent_id! };
    return this.governed(caller, call, ruling, () => this.settleOnLedger({ from, to, fromMayGoNegative: false, transfer: fields }, caller));
  }

  /** The transfer that answered 202 `approval_required`, settled now that its approval is redeemed. */
  private async redeem(
    caller: GovernedCaller,
    input: TransferInput,
    costMicros: number,
    digest: Buffer,
    recipientOrgId: string | null,
  ): Promise<TransferAnswer> {
    const pending = await this.store.findByApproval(caller.agentId, input.approval_id!);
    if (!pending) throw new NotFoundError(`No transfer of this agent waits for approval '${input.approval_id}'.`, 'TRANSFER_NOT_FOUND');
    if (pending.pending_reason !== 'approval_required') return answer(pending);
    if (!pending.request_digest?.equals(digest)) {
      throw new ConflictError("The approval is for another transfer: repeat that transfer's request as it was.", 'TRANSFER_NOT_APPROVED');
    }
    const call = this.callOf(input, costMicros, input.approval_id!);
    let ruling: Ruling | undefined;
    let row: TransferRow | null;
    try {
      // One transaction: an approval is used up only by a transfer that settles (a short balance leaves it approved).
      // The ruling is metered after it, outside: its audit record commits on a connection of its own.
      row = await this.db.transaction(async () => {
        ruling = await this.decisions.decide(caller, call);
        return ruling.decision === 'allow' ? this.settleApproved(caller, pending, recipientOrgId) : null;
      });
    } catch (error) {
      // The reservation rolled back with the transfer: the ruling is metered as having reserved nothing.
      if (ruling?.decision === 'allow') {
        const statusCode = error instanceof ApiError ? error.status : 500;
        await this.decisions.settle(caller, call, { ...ruling, reservedMicros: 0 }, { statusCode, vendorCostMicros: null, released: true });
      }
      throw error;
    }
    if (!row) return this.refuse(caller, call, ruling!);
    return this.metered(caller, call, ruling!, row);
  }

  private async settleApproved(caller: GovernedCaller, pending: TransferRow, recipientOrgId: string | null): Promise<TransferRow> {
    if (pending.rail !== 'ledger')
      return this.resolve(caller, pending, { toAccountId: null, status: 'pending', reason: 'rail_not_supported' });
    const from: AccountOwner = { type: 'agent', orgId: caller.orgId, agentId: caller.agentId };
    const to: AccountOwner = { type: 'agent', orgId: recipientOrgId, agentId: pending.to_agent_id };
    const { fromAccount, toAccount } = await this.lockedAccounts(from, to, BigInt(pending.amount), pending.currency, false);
    const settled = await this.resolve(caller, pending, { toAccountId: toAccount, status: 'settled', reason: null });
    await this.store.post(settled.id, fromAccount, toAccount, BigInt(settled.amount));
    return settled;
  }

  /** Runs the ledger work of a ruled transfer and meters the ruling: a refused or failed transfer spends none of the budget. */
  private async governed(caller: GovernedCaller, call: CallToDecide, ruling: Ruling, work: () => Promise<TransferRow>) {
    let row: TransferRow;
    try {
      row = await work();
    } catch (error) {
      const statusCode = error instanceof ApiError ? error.status : 500;
      await this.decisions.settle(caller, call, ruling, { statusCode, vendorCostMicros: null, released: true });
      throw error;
    }
    return this.metered(caller, call, ruling, row);
  }

  /** A settled transfer spends its reservation; one still pending gives it back. */
  private async metered(caller: GovernedCaller, call: CallToDecide, ruling: Ruling, row: TransferRow): Promise<TransferAnswer> {
    const settled = row.status === 'settled';
    await this.decisions.settle(caller, call, ruling, { statusCode: settled ? 201 : 202, vendorCostMicros: null, released: !settled });
    return answer(row);
  }

  private async refuse(caller: GovernedCaller, call: CallToDecide, ruling: Ruling): Promise<never> {
    await this.decisions.settle(caller, call, ruling, { statusCode: 403, vendorCostMicros: null, released: true });
    const reason = ruling.denyReason ?? 'approval_pending';
    if (reason.startsWith('approval_')) {
      throw new ConflictError(`The transfer's approval cannot be used (${reason}).`, 'TRANSFER_NOT_APPROVED');
    }
    throw new ForbiddenError(`The agent's governance refused the transfer (${reason}).`, 'TRANSFER_DENIED');
  }

  /** The call governance rules on; the approval a human gives binds the recipient, amount, currency and rail. */
  private callOf(input: TransferInput, costMicros: number, approvalId: string | null): CallToDecide {
    const to = input.to_agent_id ?? input.to_address!;
    const terms = new URLSearchParams({ to, amount: String(input.amount), currency: input.currency, rail: input.rail ?? 'ledger' });
    return {
      action: 'tx.transfer',
      method: 'POST',
      path: '/tx/transfer',
      query: `?${terms}`,
      costMicros,
      vendorId: null,
      approvalId,
    };
  }

  /** The org of the agent paid (its own org's, or a listed agent's), or null for an outside address. */
  private async recipientOrg(caller: GovernedCaller, input: TransferInput, rail: string): Promise<string | null> {
    if ((input.to_agent_id === undefined) === (input.to_address === undefined)) {
      throw recipientInvalid('Name exactly one recipient: to_agent_id or to_address.');
    }
    if (input.to_address !== undefined) {
      if (rail === 'ledger') throw recipientInvalid('The ledger rail pays agents only: use to_agent_id, or another rail for an address.');
      return null;
    }
    if (input.to_agent_id === caller.agentId) throw recipientInvalid('An agent cannot pay itself.');
    const listed = await this.registry.listedAgent(input.to_agent_id!);
    if (listed) return listed.orgId;
    return (await this.agents.row(caller.orgId, input.to_agent_id!)).org_id;
  }

  /** The transfer an idempotency key already names (same body), or undefined; 409 for another body. */
  private async earlier(scope: string, key: string | undefined, digest: Buffer): Promise<TransferRow | undefined> {
    if (key === undefined) return undefined;
    const row = await this.store.findByIdempotencyKey(scope, key);
    if (row && !row.request_digest?.equals(digest)) throw idempotencyKeyReused();
    return row;
  }

  private blankTransfer(kind: TransferRow['kind'], orgId: string, currency: string, amount: number): Move['transfer'] {
    return {
      id: newId('tr'),
      kind,
      org_id: orgId,
      from_agent_id: null,
      to_agent_id: null,
      to_address: null,
      rail: 'ledger',
      currency,
      amount: String(amount),
      amount_usd_micros: null,
      network: null,
      asset: null,
      mandate_id: null,
      has_shared_payment_token: false,
      approval_id: null,
      idempotency_scope: null,
      idempotency_key: null,
      request_digest: null,
      metadata: {},
    };
  }

  /** Locks both accounts (opening the payee's) in id order and checks the payer can pay. */
  private async lockedAccounts(from: AccountOwner, to: AccountOwner, amount: bigint, currency: string, fromMayGoNegative: boolean) {
    const payer = fromMayGoNegative
      ? await this.store.ensureAccount(newId('acct'), from, currency, null)
      : await this.store.findAccount(from, currency);
    if (!payer) throw insufficientFunds(0n, amount, currency);
    const payee = await this.store.ensureAccount(newId('acct'), to, currency, null);
    const balances = await this.store.lockAccounts([payer.id, payee.id]);
    const balance = balances.get(payer.id)!;
    if (!fromMayGoNegative && balance < amount) throw insufficientFunds(balance, amount, currency);
    return { fromAccount: payer.id, toAccount: payee.id };
  }

  /** Writes a settled transfer with its two entries, in one transaction with its audit event. */
  private async settleOnLedger(move: Move, caller?: GovernedCaller): Promise<TransferRow> {
    return this.db.transaction(async () => {
      const amount = BigInt(move.transfer.amount);
      const { fromAccount, toAccount } = await this.lockedAccounts(
        move.from,
        move.to,
        amount,
        move.transfer.currency,
        move.fromMayGoNegative,
      );
      const row = await this.store.insertTransfer({
        ...move.transfer,
        from_account_id: fromAccount,
        to_account_id: toAccount,
        status: 'settled',
        pending_reason: null,
      });
      if (!row) throw new KeyTakenError();
      await this.store.post(row.id, fromAccount, toAccount, amount);
      if (caller) await this.recordAudit(caller, row);
      return row;
    });
  }

  private async recordPending(
    caller: GovernedCaller,
    from: AccountOwner,
    fields: Move['transfer'],
    reason: NonNullable<TransferRow['pending_reason']>,
  ): Promise<TransferRow> {
    return this.db.transaction(async () => {
      // A pending transfer names the account it will be paid from; the account opens empty if the agent has none yet.
      const payer = await this.store.ensureAccount(newId('acct'), from, fields.currency, null);
      const row = await this.store.insertTransfer({
        ...fields,
        from_account_id: payer.id,
        to_account_id: null,
        status: 'pending',
        pending_reason: reason,
      });
      if (!row) throw new KeyTakenError();
      await this.recordAudit(caller, row);
      return row;
    });
  }

  private async resolve(
    caller: GovernedCaller,
    pending: TransferRow,
    outcome: Parameters<LedgerStore['resolvePending']>[1],
  ): Promise<TransferRow> {
    return this.db.transaction(async () => {
      const row = await this.store.resolvePending(pending.id, outcome);
      if (!row) throw new ConflictError('The transfer was settled by a concurrent request with its approval.', 'TRANSFER_NOT_APPROVED');
      await this.recordAudit(caller, row);
      return row;
    });
  }

  private recordAudit(caller: GovernedCaller, row: TransferRow): Promise<void> {
    return this.audit.append({
      orgId: caller.orgId,
      actor: caller.actor,
      action: 'tx.transfer',
      resourceType: 'transfer',
      resourceId: row.id,
      outcome: 'success',
      ...currentRequestFacts(),
      details: { operation_id: 'createTransfer', status: row.status === 'settled' ? 201 : 202, after: toTransfer(row) },
    });
  }
}
