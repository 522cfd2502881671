import type { Db } from '../../db/db';

export interface ArgocdEndpointRow {
  id: string;
  org_id: string;
  name: string;
  base_url: string;
  enabled: boolean;
  token_last_four: string | null;
  created_at: Date;
  updated_at: Date;
}

/** An endpoint with its token's ciphertext, for the calls Warden makes to it. */
export interface ArgocdEndpointSecretRow extends ArgocdEndpointRow {
  token_ciphertext: string;
}

const COLUMNS = 'id, org_id, name, base_url, enabled, token_last_four, created_at, updated_at';

/** Every SQL statement on `argocd_endpoints`. */
export class ArgocdEndpointStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<ArgocdEndpointSecretRow, 'enabled' | 'created_at' | 'updated_at'>): Promise<ArgocdEndpointRow> {
    const { rows } = await this.db.query<ArgocdEndpointRow>(
      `INSERT INTO argocd_endpoints (id, org_id, name, base_url, token_ciphertext, token_last_four)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [row.id, row.org_id, row.name, row.base_url, row.token_ciphertext, row.token_last_four],
    );
    return rows[0]!;
  }

  /** The endpoint, under a row lock when `lock` (a change reads what it overwrites). */
  async find(orgId: string, id: string, lock = false): Promise<ArgocdEndpointRow | undefined> {
    const { rows } = await this.db.query<ArgocdEndpointRow>(
      `SELECT ${COLUMNS} FROM argocd_endpoints WHERE org_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [orgId, id],
    );
    return rows[0];
  }

  async findWithSecret(orgId: string, id: string): Promise<ArgocdEndpointSecretRow | undefined> {
    const { rows } = await this.db.query<ArgocdEndpointSecretRow>(
      `SELECT ${COLUMNS}, token_ciphertext FROM argocd_endpoints WHERE org_id = $1 AND id = $2`,
      [orgId, id],
    );
    return rows[0];
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, beforeId: string | null, limit: number): Promise<ArgocdEndpointRow[]> {
    const { rows } = await this.db.query<ArgocdEndpointRow>(
      `SELECT ${COLUMNS} FROM argocd_endpoints WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [orgId, beforeId, limit],
    );
    return rows;
  }

  async setEnabled(orgId: string, id: string, enabled: boolean): Promise<ArgocdEndpointRow | undefined> {
    const { rows } = await this.db.query<ArgocdEndpointRow>(
      `UPDATE argocd_endpoints SET enabled = $3, updated_at = now() WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [orgId, id, enabled],
    );
    return rows[0];
  }

  /** Deletes the endpoint, its ciphertext and (by cascade) its mappings. */
  async delete(orgId: string, id: string): Promise<boolean> {
    const { affected } = await this.db.query(`DELETE FROM argocd_endpoints WHERE org_id = $1 AND id = $2`, [orgId, id]);
    return affected > 0;
  }
}
