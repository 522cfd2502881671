import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type AgentStatus = components['schemas']['Agent']['status'];

export interface AgentRow {
  id: string;
  org_id: string;
  workspace_id: string | null;
  sekuire_id: string | null;
  name: string;
  version: string | null;
  public_key: string | null;
  key_proven_at: Date | null;
  manifest_hash: string | null;
  wire_public_key: string | null;
  daily_budget: string | null;
  policy_ids: string[];
  status: AgentStatus;
  disabled_reason: string | null;
  disabled_until: Date | null;
  revoked_at: Date | null;
  last_seen_at: Date | null;
  created_at: Date;
  /** Whether a minted secret was issued (the digest itself never leaves the store). */
  has_secret: boolean;
}

/** What a new agent is given beyond its id, org and workspace; the rest take the table's defaults. */
export type NewAgentFields = Partial<
  Pick<AgentRow, 'sekuire_id' | 'name' | 'version' | 'public_key' | 'key_proven_at' | 'manifest_hash' | 'policy_ids'> & {
    daily_budget: number | null;
    secret_digest: Buffer;
  }
>;

export interface AgentStatusFields {
  status: AgentStatus;
  disabled_reason: string | null;
  disabled_until: Date | null;
}

export interface Sighting {
  org_id: string;
  workspace_id: string | null;
  previous_seen_at: Date | null;
  came_online: boolean;
}

const AGENT_COLUMNS = `id, org_id, workspace_id, sekuire_id, name, version, public_key, key_proven_at, manifest_hash, wire_public_key,
  daily_budget, policy_ids, status, disabled_reason, disabled_until, revoked_at, last_seen_at, created_at,
  secret_digest IS NOT NULL AS has_secret`;

/** The agent `a` is revoked, or disabled by a kill switch that has not expired. */
const STOPPED = `(a.status = 'revoked' OR (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now())))`;
const STATUS_FILTERS: Record<AgentStatus, string> = {
  active: `AND NOT ${STOPPED}`,
  disabled: `AND a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now())`,
  revoked: `AND a.status = 'revoked'`,
};
/** Silence after which the next heartbeat counts as the agent coming (back) online. */
const OFFLINE_AFTER_MINUTES = 15;

/** `agt_…` ids and 64-hex sekuire_ids both name an agent. */
const refColumn = (ref: string) => (ref.startsWith('agt_') ? 'id' : 'sekuire_id');

/** Every SQL statement on `agents`. */
export class AgentStore {
  constructor(private readonly db: Db) {}

  async findByRef(orgId: string, ref: string): Promise<AgentRow | undefined> {
    const { rows } = await this.db.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE org_id = $1 AND ${refColumn(ref)} = $2`, [
      orgId,
      ref,
    ]);
    return rows[0];
  }

  async findBySekuireId(orgId: string, sekuireId: string): Promise<AgentRow | undefined> {
    const { rows } = await this.db.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE org_id = $1 AND sekuire_id = $2`, [
      orgId,
      sekuireId,
    ]);
    return rows[0];
  }

  /** The agent whose minted secret has this digest, and whether it is stopped. */
  async findBySecretDigest(digest: Buffer): Promise<{ id: string; org_id: string; stopped: boolean } | undefined> {
    const { rows } = await this.db.query<{ id: string; org_id: string; stopped: boolean }>(
      `SELECT a.id, a.org_id, ${STOPPED} AS stopped FROM agents a WHERE a.secret_digest = $1`,
      [digest],
      // Every request an agent makes with its secret (job claims, heartbeats) starts here.
      { prepared: true },
    );
    return rows[0];
  }

  async isStopped(agentId: string): Promise<boolean> {
    const { rows } = await this.db.query<{ stopped: boolean }>(`SELECT ${STOPPED} AS stopped FROM agents a WHERE a.id = $1`, [agentId]);
    return rows[0]!.stopped;
  }

  async isNamedBySekuireId(agentId: string, sekuireId: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM agents WHERE id = $1 AND sekuire_id = $2`, [agentId, sekuireId]);
    return rows.length > 0;
  }

  async countLive(orgId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM agents WHERE org_id = $1 AND status <> 'revoked'`, [
      orgId,
    ]);
    return rows[0]!.n;
  }

  /** Up to `limit` of the workspace's agent ids, in id order. */
  async idsIn(workspaceId: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM (SELECT id FROM agents WHERE workspace_id = $1 LIMIT $2) a ORDER BY id`,
      [workspaceId, limit],
    );
    return rows.map((row) => row.id);
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(
    orgId: string,
    filter: { status?: AgentStatus; workspaceId: string | null; beforeId: string | null; limit: number },
  ): Promise<AgentRow[]> {
    const { rows } = await this.db.query<AgentRow>(
      `SELECT ${AGENT_COLUMNS} FROM agents a WHERE org_id = $1 AND ($2::text IS NULL OR workspace_id = $2) AND ($3::text IS NULL OR id < $3)
       ${filter.status ? STATUS_FILTERS[filter.status] : ''} ORDER BY id DESC LIMIT $4`,
      [orgId, filter.workspaceId, filter.beforeId, filter.limit],
    );
    return rows;
  }

  async insert(agent: { id: string; org_id: string; workspace_id: string | null } & NewAgentFields): Promise<AgentRow> {
    const columns = Object.keys(agent);
    const { rows } = await this.db.query<AgentRow>(
      `INSERT INTO agents (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${AGENT_COLUMNS}`,
      Object.values(agent),
    );
    return rows[0]!;
  }

  async markKeyProven(agentId: string): Promise<AgentRow> {
    const { rows } = await this.db.query<AgentRow>(`UPDATE agents SET key_proven_at = now() WHERE id = $1 RETURNING ${AGENT_COLUMNS}`, [
      agentId,
    ]);
    return rows[0]!;
  }

  async revoke(orgId: string, ref: string): Promise<AgentRow | undefined> {
    const { rows } = await this.db.query<AgentRow>(
      `UPDATE agents SET status = 'revoked', revoked_at = COALESCE(revoked_at, now())
       WHERE org_id = $1 AND ${refColumn(ref)} = $2 RETURNING ${AGENT_COLUMNS}`,
      [orgId, ref],
    );
    return rows[0];
  }

  async lockStatus(orgId: string, ref: string): Promise<AgentStatusFields | undefined> {
    const { rows } = await this.db.query<AgentStatusFields>(
      `SELECT status, disabled_reason, disabled_until FROM agents WHERE org_id = $1 AND ${refColumn(ref)} = $2 FOR UPDATE`,
      [orgId, ref],
    );
    return rows[0];
  }

  /** Undefined when no such agent, or it is revoked. */
  async setStatus(
    orgId: string,
    ref: string,
    status: 'active' | 'disabled',
    reason: string | null,
    until: string | null,
  ): Promise<AgentRow | undefined> {
    const { rows } = await this.db.query<AgentRow>(
      `UPDATE agents SET status = $3, disabled_reason = $4, disabled_until = $5
       WHERE org_id = $1 AND ${refColumn(ref)} = $2 AND status <> 'revoked' RETURNING ${AGENT_COLUMNS}`,
      [orgId, ref, status, reason, until],
    );
    return rows[0];
  }

  async lockWireKey(agentId: string): Promise<{ wire_public_key: string | null } | undefined> {
    const { rows } = await this.db.query<{ wire_public_key: string | null }>(
      `SELECT wire_public_key FROM agents WHERE id = $1 FOR UPDATE`,
      [agentId],
    );
    return rows[0];
  }

  async setWireKey(agentId: string, publicKey: string): Promise<AgentRow> {
    const { rows } = await this.db.query<AgentRow>(
      `UPDATE agents SET wire_public_key = $2, last_seen_at = now() WHERE id = $1 RETURNING ${AGENT_COLUMNS}`,
      [agentId, publicKey],
    );
    return rows[0]!;
  }

  /** Marks the agent seen now; whether this sighting ends a silence (or is the first). */
  async recordSighting(agentId: string): Promise<Sighting> {
    const { rows } = await this.db.query<Sighting>(
      `WITH old AS (SELECT id, last_seen_at FROM agents WHERE id = $1 FOR UPDATE)
       UPDATE agents a SET last_seen_at = now() FROM old WHERE a.id = old.id
       RETURNING a.org_id, a.workspace_id, old.last_seen_at AS previous_seen_at,
         old.last_seen_at IS NULL OR old.last_seen_at < now() - make_interval(mins => ${OFFLINE_AFTER_MINUTES}) AS came_online`,
      [agentId],
    );
    return rows[0]!;
  }

  async lockPolicyIds(orgId: string, ref: string): Promise<{ id: string; policy_ids: string[] } | undefined> {
    const { rows } = await this.db.query<{ id: string; policy_ids: string[] }>(
      `SELECT id, policy_ids FROM agents WHERE org_id = $1 AND ${refColumn(ref)} = $2 FOR UPDATE`,
      [orgId, ref],
    );
    return rows[0];
  }

  async setPolicyIds(agentId: string, policyIds: string[]): Promise<AgentRow> {
    const { rows } = await this.db.query<AgentRow>(`UPDATE agents SET policy_ids = $2 WHERE id = $1 RETURNING ${AGENT_COLUMNS}`, [
      agentId,
      policyIds,
    ]);
    return rows[0]!;
  }

  /** Up to `limit` ids of the org's agents naming the policy, in id order. */
  async idsNamingPolicy(orgId: string, policyId: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM agents WHERE org_id = $1 AND policy_ids @> ARRAY[$2]::text[] ORDER BY id LIMIT $3`,
      [orgId, policyId, limit],
    );
    return rows.map((row) => row.id);
  }

  async forgetPolicy(orgId: string, policyId: string): Promise<void> {
    await this.db.query(
      `UPDATE agents SET policy_ids = array_remove(policy_ids, $2) WHERE org_id = $1 AND policy_ids @> ARRAY[$2]::text[]`,
      [orgId, policyId],
    );
  }

  async deleteIn(workspaceId: string): Promise<void> {
    await this.db.query(`DELETE FROM agents WHERE workspace_id = $1`, [workspaceId]);
  }
}
