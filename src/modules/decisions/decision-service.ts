import type { components, operations } from '../../../generated/api';
import type { NewAuditEvent } from '../../audit/audit-event';
import { currentRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { ConflictError, ForbiddenError, NotFoundError } from '../../errors/api-error';
import { microsToUsd, usdToMicros } from '../../lib/money';
import { effectiveStatus } from '../agents';
import type { ApprovalService } from '../approvals';
import type { AuditService } from '../audit';
import { type BillingService, type GovernanceBasis, utcDay, utcMidnightAfter } from '../billing';
import type { GatewayKeyService } from '../gateway-keys';
import { type AgentGovernance, evaluatePolicies, type PolicyService } from '../policies';
import { type VendorService, vendorNotFound } from '../vendors';

type Decision = components['schemas']['Decision'];
type DecisionInput = operations['createDecision']['requestBody']['content']['application/json'];

/** The agent about to call, as its credential names it. */
export interface GovernedCaller {
  orgId: string;
  agentId: string;
  /** The gateway key the call came with, if any. */
  keyId: string | null;
  actor: NewAuditEvent['actor'];
}

/** The call the agent is about to make. */
export interface CallToDecide {
  action: string;
  method: string;
  path: string;
  /** The query string as sent (`?…`, or empty): part of what a human approves, not of what policy matches. */
  query: string;
  costMicros: number;
  vendorId: string | null;
  approvalId: string | null;
}

/** A decision, with what the gateway needs to settle the call afterwards. */
export interface Ruling {
  decision: Decision['decision'];
  policyId: string | null;
  policyVersion: number | null;
  denyReason: string | null;
  approvalId: string | null;
  /** When the approval this ruling opened expires unanswered. */
  approvalExpiresAt: Date | null;
  budgetRemainingMicros: number | null;
  budgetResetsAt: Date;
  /** Counted against the agent's budget for `day`; released by `settle` when the call does not happen. */
  reservedMicros: number;
  day: string;
  /** The governance epoch an `allow`'s reservation found current (null: unchecked): what it was decided on held then. */
  epoch: number | null;
}

/** How a governed call ended, for its billing event. */
export interface Settlement {
  statusCode: number;
  /** What the call really cost when the vendor said so; otherwise the declared cost stands. */
  vendorCostMicros: number | null;
  /** The call never reached the vendor (refused, failed): nothing is spent. */
  released: boolean;
}

/** How many times a call whose basis changed while it was decided is decided again, checked, on fresh reads. */
const CHECKED_ATTEMPTS = 3;

/** What a ruling was made on no longer stands (DecisionService.decide makes it again). */
class StaleGovernance extends Error {}

/** The agent an agent secret or a gateway key speaks for; the binding admits no other credential here. */
export function governedCaller(principal: Principal): GovernedCaller {
  if (!principal.orgId || !principal.agentId || (principal.kind !== 'agent' && principal.kind !== 'gateway_key')) {
    throw new ForbiddenError('Only an agent credential (agent secret or gateway key) can ask for a decision.', 'CREDENTIAL_NOT_ACCEPTED');
  }
  return {
    orgId: principal.orgId,
    agentId: principal.agentId,
    keyId: principal.gatewayKey?.id ?? null,
    actor: { type: 'agent', id: principal.agentId },
  };
}

/**
 * The one evaluator every governed call goes through (`POST /decisions` and the gateway): the
 * agent must be active, then its policies decide, then its daily budget, then whether a human
 * must approve. Every ruling is metered as a billing event and recorded in the audit log.
 */
export class DecisionService {
  constructor(
    private readonly db: Db,
    private readonly policies: Pick<PolicyService, 'governanceOf'>,
    private readonly approvals: Pick<ApprovalService, 'open' | 'redeem'>,
    private readonly billing: Pick<BillingService, 'reserveBudget' | 'stands' | 'adjustSpend' | 'recordEvent'>,
    private readonly audit: Pick<AuditService, 'record'>,
    private readonly vendors: Pick<VendorService, 'assertInOrg'>,
    private readonly keys: Pick<GatewayKeyService, 'assertLive'>,
  ) {}

  /**
   * `POST /decisions`: the agent behind the credential asks about a call it will make itself. With
   * a gateway key, the call is to that key's vendor.
   */
  async decideForAgent(principal: Principal, input: DecisionInput): Promise<Decision> {
    const caller = governedCaller(principal);
    const vendorId = input.vendor_id ?? principal.gatewayKey?.vendorId ?? null;
    if (vendorId !== null) {
      if (principal.gatewayKey && principal.gatewayKey.vendorId !== vendorId) throw vendorNotFound(vendorId);
      await this.vendors.assertInOrg(caller.orgId, vendorId).catch(async (error: unknown) => {
        // A remembered key's vendor may be what was deleted: refuse as its authentication now would.
        if (caller.keyId) await this.keys.assertLive(caller.keyId);
        throw error;
      });
    }
    const call: CallToDecide = {
      action: input.action ?? `${input.method} ${input.path}`,
      method: input.method,
      path: input.path,
      query: '',
      costMicros: usdToMicros(input.cost_usd ?? 0),
      vendorId,
      approvalId: input.approval_id ?? null,
    };
    const ruling = await this.decide(caller, call);
    await this.settle(caller, call, ruling, { statusCode: 200, vendorCostMicros: null, released: false });
    return this.present(ruling);
  }

  /**
   * Rules on a call; an `allow` has already counted its cost against today's budget. The agent's
   * governance (and the caller's gateway key) may come from memory: every ruling is checked in a
   * statement of its own against the org's governance epoch and the agent's and key's standing (an
   * allow in its budget reservation, a refusal before it is answered), and one that no longer
   * stands is made again on fresh reads. A kill switch, a revoked key, a changed policy, budget or
   * vendor so governs the next call on every instance, whenever its notification would arrive.
   */
  async decide(caller: GovernedCaller, call: CallToDecide, now = new Date()): Promise<Ruling> {
    for (let attempt = 1; ; attempt++) {
      const governance = await this.policies.governanceOf(caller.orgId, caller.agentId, attempt === 1);
      if (!governance) throw new NotFoundError(`No agent '${caller.agentId}' exists in this org.`, 'AGENT_NOT_FOUND');
      // Under a storm of changes, a fresh read is decided unchecked in the end, as a read and a write apart would be.
      const basis = attempt <= CHECKED_ATTEMPTS ? { epoch: governance.epoch, keyId: caller.keyId } : null;
      try {
        return await this.ruleOn(caller, call, governance, basis, now);
      } catch (error) {
        if (!(error instanceof StaleGovernance)) throw error;
      }
      // The key itself may be what changed: refuse as its authentication now would.
      if (caller.keyId) await this.keys.assertLive(caller.keyId);
    }
  }

  private async ruleOn(
    caller: GovernedCaller,
    call: CallToDecide,
    governance: AgentGovernance,
    basis: GovernanceBasis | null,
    now: Date,
  ): Promise<Ruling> {
    const status = effectiveStatus({ status: governance.status, disabled_until: governance.disabledUntil });
    if (status !== 'active') throw new ConflictError(`Agent '${caller.agentId}' is ${status}; its calls are refused.`, 'AGENT_STOPPED');
    const budgetMicros = governance.dailyBudget === null ? null : usdToMicros(Number(governance.dailyBudget));
    const verdict = evaluatePolicies(governance.policies, call);
    const ruling = (decision: Ruling['decision'], fields: Partial<Ruling> = {}): Ruling => ({
      decision,
      policyId: verdict.policyId,
      policyVersion: verdict.policyVersion,
      denyReason: null,
      approvalId: null,
      approvalExpiresAt: null,
      budgetRemainingMicros: null,
      budgetResetsAt: utcMidnightAfter(now),
      reservedMicros: 0,
      day: utcDay(now),
      epoch: null,
      ...fields,
    });
    const refusing = verdict.outcome === 'deny' || (verdict.outcome === 'approval_required' && !call.approvalId);
    if (refusing && basis && !(await this.billing.stands(caller.orgId, caller.agentId, basis))) throw new StaleGovernance();
    if (verdict.outcome === 'deny') return ruling('deny', { denyReason: verdict.denyReason });
    if (verdict.outcome === 'approval_required' && !call.approvalId) {
      const approval = await this.approvals.open({
        orgId: caller.orgId,
        agentId: caller.agentId,
        keyId: caller.keyId,
        action: call.action,
        method: call.method,
        path: call.path + call.query,
        costMicros: call.costMicros,
        policyId: verdict.policyId,
        policyVersion: verdict.policyVersion,
        requestId: currentRequestFacts().requestId,
      });
      return ruling('approval_required', { approvalId: approval.id, approvalExpiresAt: new Date(approval.expires_at) });
    }
    const redeeming = verdict.outcome === 'approval_required';
    const counted = async (): Promise<Ruling> => {
      const request = {
        orgId: caller.orgId,
        agentId: caller.agentId,
        costMicros: call.costMicros,
        dailyBudgetMicros: budgetMicros,
        now,
        // A plain call's reservation is its own commit; it need not wait for the disk (BillingStore.reserve).
        relaxedCommit: !redeeming,
      };
      const budget = basis ? await this.billing.reserveBudget({ ...request, basis }) : await this.billing.reserveBudget(request);
      // Thrown, so that a redemption in the same transaction rolls back with it.
      if ('stale' in budget) throw new StaleGovernance();
      if (!budget.ok) {
        return ruling('deny', {
          denyReason: 'budget_exceeded',
          budgetRemainingMicros: budget.remainingMicros,
          budgetResetsAt: budget.resetsAt,
          day: budget.day,
        });
      }
      return ruling('allow', {
        approvalId: redeeming ? call.approvalId : null,
        budgetRemainingMicros: budget.remainingMicros,
        reservedMicros: call.costMicros,
        day: budget.day,
        epoch: basis?.epoch ?? null,
      });
    };
    if (!redeeming) return counted();
    // Redeeming the approval and counting the cost succeed or fail together, durably: a call
    // refused for its budget leaves its approval unused, and a used approval stays used.
    return this.db.transaction(async () => {
      const redeemed = await this.approvals.redeem({
        approvalId: call.approvalId!,
        orgId: caller.orgId,
        agentId: caller.agentId,
        keyId: caller.keyId,
        method: call.method,
        path: call.path + call.query,
        costMicros: call.costMicros,
      });
      if (!redeemed.ok) return ruling('deny', { denyReason: `approval_${redeemed.reason}`, approvalId: call.approvalId });
      return counted();
    });
  }

  /**
   * Meters a ruled call: corrects the budget to what the call really cost (nothing when it never
   * reached the vendor), writes its billing event and records it in the audit log. The three writes
   * are independent and go at once (each waits for its own group commit, so one after another a
   * call waited for two or three commits in turn); all are attempted, the first failure is thrown.
   */
  async settle(caller: GovernedCaller, call: CallToDecide, ruling: Ruling, settlement: Settlement): Promise<void> {
    const allowed = ruling.decision === 'allow' && !settlement.released;
    const costMicros = allowed ? (settlement.vendorCostMicros ?? call.costMicros) : 0;
    const facts = currentRequestFacts();
    const writes: Array<Promise<void>> = [];
    if (ruling.reservedMicros !== costMicros) {
      writes.push(
        this.billing.adjustSpend({
          orgId: caller.orgId,
          agentId: caller.agentId,
          day: ruling.day,
          deltaMicros: costMicros - ruling.reservedMicros,
        }),
      );
    }
    writes.push(
      this.billing.recordEvent({
        requestId: facts.requestId ?? '',
        orgId: caller.orgId,
        agentId: caller.agentId,
        keyId: caller.keyId,
        action: call.action,
        allow: allowed,
        statusCode: settlement.statusCode,
        authorizedCostMicros: ruling.decision === 'allow' ? ruling.reservedMicros : 0,
        costMicros,
        policyId: ruling.policyId,
        policyVersion: ruling.policyVersion,
        // A call waiting for a human is not allowed (yet): its event says why, like a denial's.
        denyReason: ruling.decision === 'approval_required' ? 'approval_required' : ruling.denyReason,
        meteringSource: allowed && settlement.vendorCostMicros !== null ? 'vendor' : 'declared',
      }),
      this.audit.record({
        orgId: caller.orgId,
        actor: caller.actor,
        action: 'decision.made',
        resourceType: 'agent',
        resourceId: caller.agentId,
        outcome: ruling.decision === 'allow' ? 'success' : 'denied',
        ...facts,
        details: {
          decision: ruling.decision,
          action: call.action,
          method: call.method,
          path: call.path.slice(0, 512),
          cost_usd: microsToUsd(costMicros),
          vendor_id: call.vendorId,
          key_id: caller.keyId,
          policy_id: ruling.policyId,
          policy_version: ruling.policyVersion,
          deny_reason: ruling.denyReason,
          approval_id: ruling.approvalId,
          status_code: settlement.statusCode,
        },
      }),
    );
    const failed = (await Promise.allSettled(writes)).find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The API shape of a ruling. */
  present(ruling: Ruling): Decision {
    return {
      decision: ruling.decision,
      policy_id: ruling.policyId,
      policy_version: ruling.policyVersion,
      deny_reason: ruling.denyReason,
      approval_id: ruling.approvalId,
      budget_remaining_usd: ruling.budgetRemainingMicros === null ? null : microsToUsd(ruling.budgetRemainingMicros),
      budget_resets_at: ruling.budgetResetsAt.toISOString(),
      request_id: currentRequestFacts().requestId ?? '',
    };
  }
}
