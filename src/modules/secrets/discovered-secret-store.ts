import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type Status = components['schemas']['DiscoveredSecretStatus'];

export interface DiscoveredSecretRow {
  id: string;
  org_id: string;
  cluster_name: string;
  provider: string;
  ref: string;
  labels: Record<string, string>;
  status: Status;
  agent_id: string | null;
  first_seen: Date;
  last_seen: Date;
  created_at: Date;
  updated_at: Date;
}

/** One reported secret, as the bulk upsert takes it: labels as JSON text, last_seen as ISO text. */
export interface ReportedSecret {
  id: string;
  cluster_name: string;
  provider: string;
  ref: string;
  labels: string;
  status: Status;
  last_seen: string;
}

export interface SecretFilter {
  cluster_name?: string;
  provider?: string;
  /** Already escaped for LIKE (backslash as escape character), without the trailing `%`. */
  ref_like_prefix?: string;
  status?: Status;
  /** Each must be contained in the labels. */
  labels: Array<Record<string, string>>;
}

const COLUMNS = `id, org_id, cluster_name, provider, ref, labels, status, agent_id, first_seen, last_seen, created_at, updated_at`;

/** Every SQL statement on `discovered_secrets`. */
export class DiscoveredSecretStore {
  constructor(private readonly db: Db) {}

  /**
   * Upserts a batch in one statement, in key order (two reports of overlapping batches lock their
   * rows in the same order, so they cannot deadlock). A report whose last_seen is older than the
   * stored one only widens first_seen and records its reporter. `updated_at = now()` tells a
   * changed row from a merely re-seen one: now() is the transaction's start, and the keys of a
   * batch are distinct, so no row of this transaction's was touched before.
   */
  async upsert(orgId: string, agentId: string, secrets: ReportedSecret[]): Promise<{ created: number; updated: number }> {
    const column = <K extends keyof ReportedSecret>(key: K) => secrets.map((secret) => secret[key]);
    const { rows } = await this.db.query<{ created: number; updated: number }>(
      `WITH upserted AS (
         INSERT INTO discovered_secrets AS d
           (id, org_id, cluster_name, provider, ref, labels, status, agent_id, reported_by, first_seen, last_seen)
         SELECT t.id, $1, t.cluster_name, t.provider, t.ref, t.labels::jsonb, t.status, $2, ARRAY[$2::text],
                least(t.last_seen::timestamptz, now()), least(t.last_seen::timestamptz, now())
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
           AS t (id, cluster_name, provider, ref, labels, status, last_seen)
         ORDER BY t.cluster_name, t.provider, t.ref
         ON CONFLICT (org_id, cluster_name, provider, ref) DO UPDATE SET
           labels = CASE WHEN EXCLUDED.last_seen >= d.last_seen THEN EXCLUDED.labels ELSE d.labels END,
           status = CASE WHEN EXCLUDED.last_seen >= d.last_seen THEN EXCLUDED.status ELSE d.status END,
           agent_id = CASE WHEN EXCLUDED.last_seen >= d.last_seen THEN EXCLUDED.agent_id ELSE d.agent_id END,
           reported_by = CASE WHEN EXCLUDED.agent_id = ANY (d.reported_by) THEN d.reported_by
                              ELSE d.reported_by || EXCLUDED.agent_id END,
           first_seen = least(d.first_seen, EXCLUDED.first_seen),
           last_seen = greatest(d.last_seen, EXCLUDED.last_seen),
           updated_at = CASE WHEN EXCLUDED.last_seen >= d.last_seen
                              AND (d.labels, d.status, d.agent_id) IS DISTINCT FROM (EXCLUDED.labels, EXCLUDED.status, EXCLUDED.agent_id)
                             THEN now() ELSE d.updated_at END
         RETURNING xmax = 0 AS created, updated_at = now() AS touched
       )
       SELECT (count(*) FILTER (WHERE created))::int AS created, (count(*) FILTER (WHERE touched AND NOT created))::int AS updated
       FROM upserted`,
      [
        orgId,
        agentId,
        column('id'),
        column('cluster_name'),
        column('provider'),
        column('ref'),
        column('labels'),
        column('status'),
        column('last_seen'),
      ],
    );
    return rows[0]!;
  }

  async find(orgId: string, id: string): Promise<DiscoveredSecretRow | undefined> {
    const { rows } = await this.db.query<DiscoveredSecretRow>(`SELECT ${COLUMNS} FROM discovered_secrets WHERE org_id = $1 AND id = $2`, [
      orgId,
      id,
    ]);
    return rows[0];
  }

  async findByRef(orgId: string, clusterName: string, provider: string, ref: string): Promise<DiscoveredSecretRow | undefined> {
    const { rows } = await this.db.query<DiscoveredSecretRow>(
      `SELECT ${COLUMNS} FROM discovered_secrets WHERE org_id = $1 AND cluster_name = $2 AND provider = $3 AND ref = $4`,
      [orgId, clusterName, provider, ref],
    );
    return rows[0];
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(orgId: string, filter: SecretFilter, beforeId: string | null, limit: number): Promise<DiscoveredSecretRow[]> {
    const { rows } = await this.db.query<DiscoveredSecretRow>(
      `SELECT ${COLUMNS} FROM discovered_secrets
       WHERE org_id = $1 AND ($2::text IS NULL OR id < $2)
         AND ($3::text IS NULL OR cluster_name = $3) AND ($4::text IS NULL OR provider = $4)
         AND ($5::text IS NULL OR ref LIKE $5 || '%' ESCAPE '\\') AND ($6::text IS NULL OR status = $6)
         AND labels @> ALL ($7::jsonb[])
       ORDER BY id DESC LIMIT $8`,
      [
        orgId,
        beforeId,
        filter.cluster_name ?? null,
        filter.provider ?? null,
        filter.ref_like_prefix ?? null,
        filter.status ?? null,
        filter.labels.map((label) => JSON.stringify(label)),
        limit,
      ],
    );
    return rows;
  }

  /** The clusters of the org the agent has ever reported a secret in, by name. */
  async clustersReportedBy(orgId: string, agentId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ cluster_name: string }>(
      `SELECT DISTINCT cluster_name FROM discovered_secrets WHERE org_id = $1 AND reported_by @> ARRAY[$2::text] ORDER BY cluster_name`,
      [orgId, agentId],
    );
    return rows.map((row) => row.cluster_name);
  }
}
