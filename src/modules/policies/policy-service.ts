import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import type { ErrorDetail } from '../../errors/api-error';
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from '../../errors/api-error';
import { ExpiringCache } from '../../lib/expiring-cache';
import { microsToUsd, usdToMicros } from '../../lib/money';
import type { AgentService } from '../agents';
import type { OrgService } from '../orgs';
import type { WorkspaceService } from '../workspaces';
import { canonicalPath, type EffectivePolicy } from './policy-evaluator';
import { type GovernanceRow, type NewRules, type PolicyRow, PolicyStore, type PolicyVersionRow, type RulesRow } from './policy-store';

type Policy = components['schemas']['Policy'];
type PolicyVersion = components['schemas']['PolicyVersion'];
type PolicyInput = components['schemas']['PolicyInput'];
type WorkspacePolicy = components['schemas']['WorkspacePolicy'];
type PageQuery = operations['listPolicies']['parameters']['query'] & { limit: number };

/** Who names policies: asked when a policy is deleted, and for the workspace's list. */
export interface PolicyHolders {
  agents: Pick<AgentService, 'idsNamingPolicy' | 'forgetPolicy'>;
  workspaces: Pick<WorkspaceService, 'idsNamingPolicy' | 'forgetPolicy' | 'policyIdsOf' | 'lockPolicyIds' | 'setPolicyIds'>;
}

/** How many holders of each kind a 409 names. */
const NAMED_HOLDERS = 20;

const usd = (micros: string | null): number | null => (micros === null ? null : microsToUsd(micros));

const rulesView = (row: RulesRow) => ({
  allowed_actions: row.allowed_actions,
  denied_path_prefixes: row.denied_path_prefixes,
  max_cost_per_request: usd(row.max_cost_per_request_micros),
  require_approval: row.require_approval,
  approval_min_cost: usd(row.approval_min_cost_micros),
  approval_actions: row.approval_actions,
});

const toPolicy = (row: PolicyRow): Policy => ({
  id: row.id,
  org_id: row.org_id,
  name: row.name,
  version: row.version,
  ...rulesView(row),
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const toVersion = (row: PolicyVersionRow): PolicyVersion => ({
  policy_id: row.policy_id,
  version: row.version,
  name: row.name,
  ...rulesView(row),
  created_at: row.created_at.toISOString(),
});

/** How many agents' governance is kept in memory, and for how long at most. */
const REMEMBERED_AGENTS = 10_000;
const REMEMBERED_MS = 60_000;

/** What governs an agent's next call (PolicyService.governanceOf). */
export interface AgentGovernance {
  /** The org's governance epoch it was read under: a statement that finds the epoch unchanged knows it still holds. */
  epoch: number;
  /** Read from memory rather than the database just now. */
  remembered: boolean;
  /** USD, as the numeric column reads; null: no daily budget. */
  dailyBudget: string | null;
  status: 'active' | 'disabled' | 'revoked';
  disabledUntil: Date | null;
  policies: EffectivePolicy[];
}

const micros = (value: string | number | null): number | null => (value === null ? null : Number(value));

/** A stored policy version as the evaluator reads it (bigint columns as text, or as numbers from JSON). */
export const toEffective = (row: GovernanceRow['policies'][number] | PolicyVersionRow): EffectivePolicy => ({
  id: row.policy_id,
  version: row.version,
  name: row.name,
  rules: {
    allowed_actions: row.allowed_actions,
    denied_path_prefixes: row.denied_path_prefixes,
    max_cost_per_request_micros: micros(row.max_cost_per_request_micros),
    require_approval: row.require_approval,
    approval_min_cost_micros: micros(row.approval_min_cost_micros),
    approval_actions: row.approval_actions,
  },
});

const unique = <T>(items: T[]): T[] => [...new Set(items)];

const lowest = (values: Array<number | null>): number | null =>
  values.reduce<number | null>((low, value) => (value === null ? low : low === null ? value : Math.min(low, value)), null);

/** What the versions add up to, as evaluatePolicies applies them. */
function merged(versions: PolicyVersion[]): WorkspacePolicy['merged'] {
  return {
    default_deny: versions.length === 0,
    allowed_action_sets: versions.map((version) => version.allowed_actions).filter((set) => set.length > 0),
    denied_path_prefixes: unique(versions.flatMap((version) => version.denied_path_prefixes)),
    max_cost_per_request: lowest(versions.map((version) => version.max_cost_per_request)),
    require_approval: versions.some((version) => version.require_approval),
    approval_min_cost: lowest(versions.map((version) => version.approval_min_cost)),
    approval_actions: unique(versions.flatMap((version) => version.approval_actions)),
  };
}

/** Whole micro-dollars, or a 422 naming the field: a float would round in ways nobody agreed to. */
function toMicros(value: number | null | undefined, field: string, problems: ErrorDetail[]): number | null {
  if (value === null || value === undefined) return null;
  if (Number(value.toFixed(6)) !== value) {
    problems.push({ location: 'body', field, message: 'has more than 6 decimal places', rule: 'multipleOf' });
  }
  return usdToMicros(value);
}

/** The rules of an input, defaults filled in, or 422 naming each problem the schema cannot express. */
function rulesOf(input: PolicyInput): NewRules {
  const problems: ErrorDetail[] = [];
  const prefixes = input.denied_path_prefixes ?? [];
  prefixes.forEach((prefix, index) => {
    if (canonicalPath(prefix) !== prefix) {
      problems.push({
        location: 'body',
        field: `denied_path_prefixes/${index}`,
        message: 'is not canonical (no empty, `.` or `..` segments)',
        rule: 'pattern',
      });
    }
  });
  const rules: NewRules = {
    allowed_actions: input.allowed_actions ?? [],
    denied_path_prefixes: prefixes,
    max_cost_per_request_micros: toMicros(input.max_cost_per_request, 'max_cost_per_request', problems),
    require_approval: input.require_approval ?? false,
    approval_min_cost_micros: toMicros(input.approval_min_cost, 'approval_min_cost', problems),
    approval_actions: input.approval_actions ?? [],
  };
  if (problems.length > 0) throw new ValidationError('The policy is not valid.', 'VALIDATION_FAILED', problems);
  return rules;
}

const policyNotFound = (id: string) => new NotFoundError(`No policy '${id}' exists in this org.`, 'POLICY_NOT_FOUND');
const nameTaken = (name: string) => new ConflictError(`A policy named '${name}' already exists in this org.`, 'POLICY_NAME_TAKEN');

/** Versions page by number: the cursor is the last version given, opaque to the client. */
const versionCursor = (version: number) => Buffer.from(`v${version}`).toString('base64url');
function decodeVersionCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  const match = /^v([1-9][0-9]{0,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) {
    throw new BadRequestError('The cursor is not one Warden gave out; pass next_cursor from the previous page.', 'INVALID_CURSOR', [
      { location: 'query', field: 'cursor', message: 'is not a valid cursor', rule: 'format' },
    ]);
  }
  return Number(match[1]);
}

export class PolicyService {
  private readonly store: PolicyStore;
  /** Live agents' governance by org and agent, as last read. */
  private readonly remembered = new ExpiringCache<string, AgentGovernance>(REMEMBERED_AGENTS, REMEMBERED_MS);

  /** `holders` is called only when needed: the agents and workspaces modules are built after this one. */
  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly holders: () => PolicyHolders,
  ) {
    this.store = new PolicyStore(db);
  }

  async create(principal: Principal, input: PolicyInput): Promise<Policy> {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const rules = rulesOf(input);
    try {
      return toPolicy(await this.db.transaction(() => this.store.insert({ id: newId('pol'), orgId, name: input.name }, rules)));
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name);
      throw error;
    }
  }

  async list(principal: Principal, query: PageQuery) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(orgId, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { policies: page.items.map(toPolicy), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** The org's newest live policies, at most `limit` (the state snapshot). */
  async inOrg(orgId: string, limit: number): Promise<Policy[]> {
    return (await this.store.list(orgId, null, limit)).map(toPolicy);
  }

  async get(principal: Principal, policyId: string): Promise<Policy> {
    const orgId = await this.orgs.scope(principal);
    const row = await this.store.find(orgId, policyId);
    if (!row) throw policyNotFound(policyId);
    return toPolicy(row);
  }

  /** A full replace, written as the next version; the versions before it never change. */
  async update(principal: Principal, policyId: string, input: PolicyInput): Promise<Policy> {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const rules = rulesOf(input);
    try {
      return toPolicy(
        await this.db.transaction(async () => {
          const current = await this.store.lockLive(orgId, policyId);
          if (!current) throw policyNotFound(policyId);
          noteBefore(toPolicy(current));
          return this.store.addVersion(orgId, policyId, current.version + 1, input.name, rules);
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name);
      throw error;
    }
  }

  /** Refuses, naming them, while agents or workspaces name the policy; with `force` they stop naming it, in one transaction. */
  async delete(principal: Principal, policyId: string, force: boolean): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    const { agents, workspaces } = this.holders();
    await this.db.transaction(async () => {
      const current = await this.store.lockLive(orgId, policyId);
      if (!current) throw policyNotFound(policyId);
      noteBefore(toPolicy(current));
      if (!force) {
        const agentIds = await agents.idsNamingPolicy(orgId, policyId, NAMED_HOLDERS);
        const workspaceIds = await workspaces.idsNamingPolicy(orgId, policyId, NAMED_HOLDERS);
        const named = [
          ...(agentIds.length > 0 ? [`agents ${agentIds.join(', ')}`] : []),
          ...(workspaceIds.length > 0 ? [`workspaces ${workspaceIds.join(', ')}`] : []),
        ];
        if (named.length > 0) {
          throw new ConflictError(
            `The policy is in use by ${named.join('; and ')}. Remove it, or delete with ?force=true.`,
            'POLICY_IN_USE',
          );
        }
      }
      await agents.forgetPolicy(orgId, policyId);
      await workspaces.forgetPolicy(orgId, policyId);
      await this.store.markDeleted(policyId);
    });
  }

  async versions(principal: Principal, policyId: string, query: PageQuery) {
    const orgId = await this.orgs.scope(principal);
    const below = decodeVersionCursor(query.cursor);
    if (!(await this.store.existed(orgId, policyId))) throw policyNotFound(policyId);
    const rows = await this.store.versions(orgId, policyId, below, query.limit + 1);
    const has_more = rows.length > query.limit;
    const items = has_more ? rows.slice(0, query.limit) : rows;
    return { versions: items.map(toVersion), has_more, next_cursor: has_more ? versionCursor(items[items.length - 1]!.version) : null };
  }

  async version(principal: Principal, policyId: string, version: number): Promise<PolicyVersion> {
    const orgId = await this.orgs.scope(principal);
    const row = await this.store.version(orgId, policyId, version);
    if (row) return toVersion(row);
    if (!(await this.store.existed(orgId, policyId))) throw policyNotFound(policyId);
    throw new NotFoundError(`Policy '${policyId}' has no version ${version}.`, 'POLICY_VERSION_NOT_FOUND');
  }

  async workspacePolicy(principal: Principal, workspaceId: string): Promise<WorkspacePolicy> {
    const orgId = await this.orgs.scope(principal);
    return this.workspaceView(orgId, workspaceId, await this.holders().workspaces.policyIdsOf(orgId, workspaceId));
  }

  async setWorkspacePolicies(principal: Principal, workspaceId: string, policyIds: string[]): Promise<WorkspacePolicy> {
    const orgId = await this.orgs.scope(principal);
    const { workspaces } = this.holders();
    return this.db.transaction(async () => {
      // Policies first, then the workspace: the order delete takes its locks in.
      await this.assertLive(orgId, policyIds);
      noteBefore({ policy_ids: await workspaces.lockPolicyIds(orgId, workspaceId) });
      await workspaces.setPolicyIds(workspaceId, policyIds);
      return this.workspaceView(orgId, workspaceId, policyIds);
    });
  }

  private async workspaceView(orgId: string, workspaceId: string, policyIds: string[]): Promise<WorkspacePolicy> {
    const versions = (await this.store.currentVersions(orgId, policyIds)).map(toVersion);
    return { workspace_id: workspaceId, policy_ids: policyIds, policies: versions, merged: merged(versions) };
  }

  /**
   * 422 `UNKNOWN_POLICY` listing every id that is not a live policy of the org (another org's
   * policy reads as unknown, like a made-up id). The rest stay share-locked until the caller's
   * transaction ends, so none is deleted under the reference being written.
   */
  async assertLive(orgId: string, policyIds: string[]): Promise<void> {
    if (policyIds.length === 0) return;
    const live = new Set(await this.store.lockLiveIds(orgId, policyIds));
    const unknown = policyIds.filter((id) => !live.has(id));
    if (unknown.length === 0) return;
    throw new ValidationError(
      `Not a policy of this org: ${unknown.join(', ')}.`,
      'UNKNOWN_POLICY',
      unknown.map((id) => ({
        location: 'body',
        field: `policy_ids/${policyIds.indexOf(id)}`,
        message: `'${id}' is not a policy of this org`,
        rule: 'exists',
      })),
    );
  }

  /**
   * What governs an agent's next call, read in one statement: its daily budget and state, and its
   * own policies then its workspace's, each once, at their current versions. Null when the org has no such agent.
   */
  /**
   * What governs the agent's next call; null when the org has no such agent. `fromMemory`: what an
   * earlier call read may do, for a caller that checks its epoch in the statement that acts on it.
   * Only a live agent's governance is remembered, so a refusal for a stopped agent is always read fresh.
   */
  async governanceOf(orgId: string, agentId: string, fromMemory = false): Promise<AgentGovernance | null> {
    const cacheKey = `${orgId}/${agentId}`;
    const remembered = fromMemory ? this.remembered.get(cacheKey) : undefined;
    if (remembered) return remembered;
    const row = await this.store.governanceOf(orgId, agentId);
    if (!row) return null;
    const governance: AgentGovernance = {
      epoch: Number(row.epoch),
      remembered: false,
      dailyBudget: row.daily_budget,
      status: row.status,
      disabledUntil: row.disabled_until,
      policies: row.policies.map(toEffective),
    };
    // Inside a transaction the read may see its own uncommitted change, whose epoch bump comes only at commit.
    if (row.status === 'active' && !this.db.inTransaction) this.remembered.set(cacheKey, { ...governance, remembered: true });
    return governance;
  }

  /** One version as a decision that recorded it used it, also of a deleted policy; null when the org never had it. */
  async versionOf(orgId: string, policyId: string, version: number): Promise<EffectivePolicy | null> {
    const row = await this.store.version(orgId, policyId, version);
    return row ? toEffective(row) : null;
  }
}
