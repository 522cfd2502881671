import type { Db } from '../../db/db';

export interface ListingRow {
  id: string;
  org_id: string;
  agent_id: string;
  category: string;
  description: string;
  created_at: Date;
  updated_at: Date;
}

export interface NetworkAgentRow {
  agent_id: string;
  org_id: string;
  sekuire_id: string | null;
  name: string;
  category: string;
  description: string;
  verified: boolean;
  listed_at: Date;
}

const LISTING_COLUMNS = 'id, org_id, agent_id, category, description, created_at, updated_at';

/** The listed agent `a` is neither revoked nor disabled by a kill switch that has not expired. */
const LIVE = `NOT (a.status = 'revoked' OR (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now())))`;
/** Its trust profile says verified: a registered Ed25519 key whose possession was proven, on a live agent. */
const VERIFIED = `(a.public_key IS NOT NULL AND a.key_proven_at IS NOT NULL AND ${LIVE})`;
const NETWORK_COLUMNS = `l.agent_id, l.org_id, a.sekuire_id, a.name, l.category, l.description, ${VERIFIED} AS verified,
  l.created_at AS listed_at`;

/**
 * Every SQL statement on `registry_listings`. The network reads join `agents` read-only (its status,
 * name and key), so a page, its filter on `verified` and its count are one statement each.
 */
export class ListingStore {
  constructor(private readonly db: Db) {}

  async find(agentId: string): Promise<ListingRow | undefined> {
    const { rows } = await this.db.query<ListingRow>(`SELECT ${LISTING_COLUMNS} FROM registry_listings WHERE agent_id = $1 FOR UPDATE`, [
      agentId,
    ]);
    return rows[0];
  }

  async upsert(row: Omit<ListingRow, 'created_at' | 'updated_at'>): Promise<ListingRow> {
    const { rows } = await this.db.query<ListingRow>(
      `INSERT INTO registry_listings (id, org_id, agent_id, category, description) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (agent_id) DO UPDATE SET category = EXCLUDED.category, description = EXCLUDED.description, updated_at = now()
       RETURNING ${LISTING_COLUMNS}`,
      [row.id, row.org_id, row.agent_id, row.category, row.description],
    );
    return rows[0]!;
  }

  async delete(agentId: string): Promise<void> {
    await this.db.query(`DELETE FROM registry_listings WHERE agent_id = $1`, [agentId]);
  }

  /** The listed agent, if it is live. */
  async live(agentId: string): Promise<NetworkAgentRow | undefined> {
    const { rows } = await this.db.query<NetworkAgentRow>(
      `SELECT ${NETWORK_COLUMNS} FROM registry_listings l JOIN agents a ON a.id = l.agent_id WHERE l.agent_id = $1 AND ${LIVE}`,
      [agentId],
    );
    return rows[0];
  }

  async network(filter: { category: string | null; verifiedOnly: boolean; limit: number; offset: number }) {
    const where = `WHERE a.status <> 'revoked' AND ($1::text IS NULL OR l.category = $1) AND (NOT $2::boolean OR ${VERIFIED})`;
    const [page, total] = await Promise.all([
      this.db.query<NetworkAgentRow>(
        `SELECT ${NETWORK_COLUMNS} FROM registry_listings l JOIN agents a ON a.id = l.agent_id ${where}
         ORDER BY l.created_at, l.id LIMIT $3 OFFSET $4`,
        [filter.category, filter.verifiedOnly, filter.limit, filter.offset],
      ),
      this.db.query<{ total: string }>(`SELECT count(*) AS total FROM registry_listings l JOIN agents a ON a.id = l.agent_id ${where}`, [
        filter.category,
        filter.verifiedOnly,
      ]),
    ]);
    return { rows: page.rows, total: Number(total.rows[0]!.total) };
  }

  async summary(): Promise<Array<{ category: string; agents: string; verified_agents: string }>> {
    const { rows } = await this.db.query<{ category: string; agents: string; verified_agents: string }>(
      `SELECT l.category, count(*) AS agents, count(*) FILTER (WHERE ${VERIFIED}) AS verified_agents
       FROM registry_listings l JOIN agents a ON a.id = l.agent_id WHERE a.status <> 'revoked'
       GROUP BY l.category ORDER BY l.category`,
    );
    return rows;
  }
}
