import type { Db } from '../../db/db';

/** A policy's rules as a version row holds them; bigint micro-dollars arrive from pg as strings. */
export interface RulesRow {
  allowed_actions: string[];
  denied_path_prefixes: string[];
  max_cost_per_request_micros: string | null;
  require_approval: boolean;
  approval_min_cost_micros: string | null;
  approval_actions: string[];
}

export interface PolicyVersionRow extends RulesRow {
  policy_id: string;
  version: number;
  name: string;
  created_at: Date;
}

/** A live policy joined to its current version. */
export interface PolicyRow extends RulesRow {
  id: string;
  org_id: string;
  name: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** The rules to write, micro-dollars as numbers. */
export interface NewRules {
  allowed_actions: string[];
  denied_path_prefixes: string[];
  max_cost_per_request_micros: number | null;
  require_approval: boolean;
  approval_min_cost_micros: number | null;
  approval_actions: string[];
}

const RULE_COLUMNS = `v.allowed_actions, v.denied_path_prefixes, v.max_cost_per_request_micros, v.require_approval,
  v.approval_min_cost_micros, v.approval_actions`;
const POLICY_COLUMNS = `p.id, p.org_id, p.name, p.current_version AS version, p.created_at, p.updated_at, ${RULE_COLUMNS}`;
const VERSION_COLUMNS = `v.policy_id, v.version, v.name, v.created_at, ${RULE_COLUMNS}`;
const CURRENT = `policies p JOIN policy_versions v ON v.policy_id = p.id AND v.version = p.current_version`;

/**
 * What governs an agent's next call, in the one statement on the hot path of every governed call:
 * its budget and state, and as JSON its own policies, then its workspace's, each once (where it
 * first appears), at their current versions; deleted ones and (defensively) other orgs' are
 * skipped; and the org's governance epoch it was read under (see the governance_epochs migration).
 * No row: no such agent in the org. (The decisions bench's bare baseline issues it too.)
 */
export const GOVERNANCE_OF_AGENT = `SELECT a.daily_budget, a.status, a.disabled_until,
    COALESCE((SELECT g.epoch FROM governance_epochs g WHERE g.org_id = $1), 0) AS epoch,
    (SELECT COALESCE(json_agg(effective ORDER BY effective.ord), '[]'::json) FROM (
      SELECT DISTINCT ON (p.id) ${VERSION_COLUMNS}, u.ord
      FROM workspaces w
      RIGHT JOIN (SELECT a.workspace_id, a.policy_ids, a.org_id) self ON w.id = self.workspace_id
      CROSS JOIN LATERAL unnest(self.policy_ids || COALESCE(w.policy_ids, '{}'::text[])) WITH ORDINALITY AS u(policy_id, ord)
      JOIN ${CURRENT} ON p.id = u.policy_id AND p.org_id = self.org_id AND p.deleted_at IS NULL
      ORDER BY p.id, u.ord
    ) effective) AS policies
  FROM agents a WHERE a.id = $2 AND a.org_id = $1`;

/** An agent's budget, state and effective policies (JSON: numbers where the columns are bigint). */
export interface GovernanceRow {
  daily_budget: string | null;
  /** bigint, as pg hands it over. */
  epoch: string;
  status: 'active' | 'disabled' | 'revoked';
  disabled_until: Date | null;
  policies: Array<
    Omit<PolicyVersionRow, 'max_cost_per_request_micros' | 'approval_min_cost_micros' | 'created_at'> & {
      max_cost_per_request_micros: number | string | null;
      approval_min_cost_micros: number | string | null;
      created_at: string;
    }
  >;
}

/** Every SQL statement on `policies` and `policy_versions`. */
export class PolicyStore {
  constructor(private readonly db: Db) {}

  async insert(policy: { id: string; orgId: string; name: string }, rules: NewRules): Promise<PolicyRow> {
    await this.db.query(`INSERT INTO policies (id, org_id, name, current_version) VALUES ($1, $2, $3, 1)`, [
      policy.id,
      policy.orgId,
      policy.name,
    ]);
    await this.insertVersion(policy.id, 1, policy.name, rules);
    return (await this.find(policy.orgId, policy.id))!;
  }

  /** A new version, and the policy pointed at it; the caller holds the policy's row lock. */
  async addVersion(orgId: string, policyId: string, version: number, name: string, rules: NewRules): Promise<PolicyRow> {
    await this.insertVersion(policyId, version, name, rules);
    await this.db.query(`UPDATE policies SET name = $2, current_version = $3, updated_at = now() WHERE id = $1`, [policyId, name, version]);
    return (await this.find(orgId, policyId))!;
  }

  private async insertVersion(policyId: string, version: number, name: string, rules: NewRules): Promise<void> {
    await this.db.query(
      `INSERT INTO policy_versions (policy_id, version, name, allowed_actions, denied_path_prefixes, max_cost_per_request_micros,
         require_approval, approval_min_cost_micros, approval_actions)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        policyId,
        version,
        name,
        rules.allowed_actions,
        rules.denied_path_prefixes,
        rules.max_cost_per_request_micros,
        rules.require_approval,
        rules.approval_min_cost_micros,
        rules.approval_actions,
      ],
    );
  }

  async find(orgId: string, policyId: string): Promise<PolicyRow | undefined> {
    const { rows } = await this.db.query<PolicyRow>(
      `SELECT ${POLICY_COLUMNS} FROM ${CURRENT} WHERE p.id = $1 AND p.org_id = $2 AND p.deleted_at IS NULL`,
      [policyId, orgId],
    );
    return rows[0];
  }

  /**
   * The live policy, its row locked until the transaction ends. The lock is taken on the policy
   * alone, then the current version read: locked in one join, a writer that waited would see the
   * row it waited for fail the join on the version it no longer points at, and find nothing.
   */
  async lockLive(orgId: string, policyId: string): Promise<PolicyRow | undefined> {
    const { rows } = await this.db.query(`SELECT 1 FROM policies WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL FOR UPDATE`, [
      policyId,
      orgId,
    ]);
    return rows.length > 0 ? this.find(orgId, policyId) : undefined;
  }

  async markDeleted(policyId: string): Promise<void> {
    await this.db.query(`UPDATE policies SET deleted_at = now() WHERE id = $1`, [policyId]);
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, beforeId: string | null, limit: number): Promise<PolicyRow[]> {
    const { rows } = await this.db.query<PolicyRow>(
      `SELECT ${POLICY_COLUMNS} FROM ${CURRENT} WHERE p.org_id = $1 AND p.deleted_at IS NULL AND ($2::text IS NULL OR p.id < $2)
       ORDER BY p.id DESC LIMIT $3`,
      [orgId, beforeId, limit],
    );
    return rows;
  }

  /** Whether the org has (or had: deleted policies count) this policy. */
  async existed(orgId: string, policyId: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM policies WHERE id = $1 AND org_id = $2`, [policyId, orgId]);
    return rows.length > 0;
  }

  /** Newest first, below the cursor version; one more than `limit` tells whether there is more. */
  async versions(orgId: string, policyId: string, belowVersion: number | null, limit: number): Promise<PolicyVersionRow[]> {
    const { rows } = await this.db.query<PolicyVersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM policy_versions v JOIN policies p ON p.id = v.policy_id
       WHERE v.policy_id = $1 AND p.org_id = $2 AND ($3::int IS NULL OR v.version < $3) ORDER BY v.version DESC LIMIT $4`,
      [policyId, orgId, belowVersion, limit],
    );
    return rows;
  }

  /** One version, also of a deleted policy. */
  async version(orgId: string, policyId: string, version: number): Promise<PolicyVersionRow | undefined> {
    const { rows } = await this.db.query<PolicyVersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM policy_versions v JOIN policies p ON p.id = v.policy_id
       WHERE v.policy_id = $1 AND p.org_id = $2 AND v.version = $3`,
      [policyId, orgId, version],
    );
    return rows[0];
  }

  /**
   * Which of the ids are live policies of the org, share-locked until the transaction ends so
   * none is deleted before the caller's reference to it commits.
   */
  async lockLiveIds(orgId: string, policyIds: string[]): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM policies WHERE org_id = $1 AND id = ANY($2::text[]) AND deleted_at IS NULL ORDER BY id FOR SHARE`,
      [orgId, policyIds],
    );
    return rows.map((row) => row.id);
  }

  /** The live ones of the ids at their current versions, in the order given. */
  async currentVersions(orgId: string, policyIds: string[]): Promise<PolicyVersionRow[]> {
    const { rows } = await this.db.query<PolicyVersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM unnest($2::text[]) WITH ORDINALITY AS u(policy_id, ord)
       JOIN ${CURRENT} ON p.id = u.policy_id AND p.org_id = $1 AND p.deleted_at IS NULL
       ORDER BY u.ord`,
      [orgId, policyIds],
    );
    return rows;
  }

  async governanceOf(orgId: string, agentId: string): Promise<GovernanceRow | undefined> {
    const { rows } = await this.db.query<GovernanceRow>(GOVERNANCE_OF_AGENT, [orgId, agentId], { prepared: true });
    return rows[0];
  }
}
