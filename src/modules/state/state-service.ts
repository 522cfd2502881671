import type { components } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import { microsToUsd, usdToMicros } from '../../lib/money';
import type { AgentService } from '../agents';
import type { ApprovalService } from '../approvals';
import type { BillingService } from '../billing';
import type { GatewayKeyService } from '../gateway-keys';
import type { OrgService } from '../orgs';
import type { PolicyService } from '../policies';
import type { VendorService } from '../vendors';

type StateSnapshot = components['schemas']['StateSnapshot'];

/** Each list of the snapshot holds at most this many items; `truncated` says when one was cut. */
const SNAPSHOT_LIMIT = 1000;

/**
 * Seed 001's `GET /state`: what an operator needs on one screen, read from each module's own face.
 * Nothing secret is in it: vendors come without credentials, gateway keys as prefix and last four.
 */
export class StateService {
  constructor(
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'inOrg'>,
    private readonly policies: Pick<PolicyService, 'inOrg'>,
    private readonly vendors: Pick<VendorService, 'inOrg'>,
    private readonly gatewayKeys: Pick<GatewayKeyService, 'inOrg'>,
    private readonly approvals: Pick<ApprovalService, 'listPending'>,
    private readonly billing: Pick<BillingService, 'spentToday'>,
  ) {}

  async snapshot(principal: Principal, requestedOrg: string | undefined, now = new Date()): Promise<StateSnapshot> {
    const orgId = await this.orgs.scope(principal, requestedOrg);
    // One more than shown tells whether a list was cut.
    const [agents, policies, vendors, keys, pending, spent] = await Promise.all([
      this.agents.inOrg(orgId, SNAPSHOT_LIMIT + 1),
      this.policies.inOrg(orgId, SNAPSHOT_LIMIT + 1),
      this.vendors.inOrg(orgId, SNAPSHOT_LIMIT + 1),
      this.gatewayKeys.inOrg(orgId, SNAPSHOT_LIMIT + 1),
      this.approvals.listPending(orgId, SNAPSHOT_LIMIT + 1),
      this.billing.spentToday(orgId, now),
    ]);
    const spentBy = new Map(spent.map((entry) => [entry.agentId, entry.spentMicros]));
    const lists = [agents, policies, vendors, keys, pending];
    return {
      org_id: orgId,
      generated_at: now.toISOString(),
      agents: agents.slice(0, SNAPSHOT_LIMIT).map((agent) => {
        const spentMicros = spentBy.get(agent.id) ?? 0;
        return {
          id: agent.id,
          name: agent.name,
          status: agent.status,
          policy_ids: agent.policy_ids,
          daily_budget: agent.daily_budget,
          spent_today_usd: microsToUsd(spentMicros),
          budget_remaining_usd:
            agent.daily_budget === null ? null : microsToUsd(Math.max(0, usdToMicros(agent.daily_budget) - spentMicros)),
        };
      }),
      policies: policies.slice(0, SNAPSHOT_LIMIT),
      vendors: vendors.slice(0, SNAPSHOT_LIMIT),
      gateway_keys: keys.slice(0, SNAPSHOT_LIMIT),
      pending_approvals: pending.slice(0, SNAPSHOT_LIMIT),
      truncated: lists.some((list) => list.length > SNAPSHOT_LIMIT),
    };
  }
}
