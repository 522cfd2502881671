import type { Db } from '../../db/db';

export interface GitopsAppMappingRow {
  id: string;
  org_id: string;
  argocd_endpoint_id: string;
  app_name: string;
  cluster_name: string;
  provider: string | null;
  ref_prefix: string | null;
  created_at: Date;
}

/** One application a patched secret's mappings name, once per endpoint and application. */
export interface MatchedApp {
  mapping_id: string;
  argocd_endpoint_id: string;
  app_name: string;
}

const COLUMNS = 'id, org_id, argocd_endpoint_id, app_name, cluster_name, provider, ref_prefix, created_at';

/** Every SQL statement on `gitops_app_mappings`. */
export class GitopsAppMappingStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<GitopsAppMappingRow, 'created_at'>): Promise<GitopsAppMappingRow> {
    const { rows } = await this.db.query<GitopsAppMappingRow>(
      `INSERT INTO gitops_app_mappings (id, org_id, argocd_endpoint_id, app_name, cluster_name, provider, ref_prefix)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [row.id, row.org_id, row.argocd_endpoint_id, row.app_name, row.cluster_name, row.provider, row.ref_prefix],
    );
    return rows[0]!;
  }

  async find(orgId: string, id: string): Promise<GitopsAppMappingRow | undefined> {
    const { rows } = await this.db.query<GitopsAppMappingRow>(`SELECT ${COLUMNS} FROM gitops_app_mappings WHERE org_id = $1 AND id = $2`, [
      orgId,
      id,
    ]);
    return rows[0];
  }

  /** Newest first, from before the cursor id, optionally one endpoint's; one more than `limit` tells whether there is more. */
  async list(orgId: string, endpointId: string | null, beforeId: string | null, limit: number): Promise<GitopsAppMappingRow[]> {
    const { rows } = await this.db.query<GitopsAppMappingRow>(
      `SELECT ${COLUMNS} FROM gitops_app_mappings
       WHERE org_id = $1 AND ($2::text IS NULL OR argocd_endpoint_id = $2) AND ($3::text IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [orgId, endpointId, beforeId, limit],
    );
    return rows;
  }

  /** The application names an endpoint's mappings hold. */
  async appNamesOf(orgId: string, endpointId: string): Promise<Set<string>> {
    const { rows } = await this.db.query<{ app_name: string }>(
      `SELECT DISTINCT app_name FROM gitops_app_mappings WHERE org_id = $1 AND argocd_endpoint_id = $2`,
      [orgId, endpointId],
    );
    return new Set(rows.map((row) => row.app_name));
  }

  /** The applications of enabled endpoints whose mappings take in the secret; the oldest mapping names each one. */
  async matching(orgId: string, secret: { clusterName: string; provider: string; ref: string }): Promise<MatchedApp[]> {
    const { rows } = await this.db.query<MatchedApp>(
      `SELECT DISTINCT ON (m.argocd_endpoint_id, m.app_name) m.id AS mapping_id, m.argocd_endpoint_id, m.app_name
       FROM gitops_app_mappings m JOIN argocd_endpoints e ON e.id = m.argocd_endpoint_id AND e.enabled
       WHERE m.org_id = $1 AND m.cluster_name = $2 AND (m.provider IS NULL OR m.provider = $3)
         AND (m.ref_prefix IS NULL OR left($4, length(m.ref_prefix)) = m.ref_prefix)
       ORDER BY m.argocd_endpoint_id, m.app_name, m.id`,
      [orgId, secret.clusterName, secret.provider, secret.ref],
    );
    return rows;
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const { affected } = await this.db.query(`DELETE FROM gitops_app_mappings WHERE org_id = $1 AND id = $2`, [orgId, id]);
    return affected > 0;
  }
}
