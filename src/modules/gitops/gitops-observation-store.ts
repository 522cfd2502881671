import type { Db } from '../../db/db';
import type { MatchedApp } from './gitops-app-mapping-store';

export interface Transition {
  sync_status: string | null;
  health_status: string | null;
  revision: string | null;
  observed_at: string;
}

export type ObservationState = 'pending' | 'observing' | 'synced' | 'timed_out';

export interface GitopsObservationRow {
  id: string;
  org_id: string;
  request_id: string;
  argocd_endpoint_id: string;
  mapping_id: string;
  app_name: string;
  state: ObservationState;
  applied_at: Date;
  transitions: Transition[];
  last_checked_at: Date | null;
  last_error: string | null;
  settled_at: Date | null;
  created_at: Date;
}

/** What one look at Argo CD changes: the transitions so far, the state, and the error if the look failed. */
export interface ObservationUpdate {
  state: ObservationState;
  transitions: Transition[];
  last_error: string | null;
}

const COLUMNS = `id, org_id, request_id, argocd_endpoint_id, mapping_id, app_name, state, applied_at, transitions, last_checked_at,
  last_error, settled_at, created_at`;

/** Every SQL statement on `gitops_observations`. */
export class GitopsObservationStore {
  constructor(private readonly db: Db) {}

  /** One pending observation per application; a repeated report of the same patch adds none. */
  async insertPending(orgId: string, requestId: string, appliedAt: Date, apps: Array<MatchedApp & { id: string }>): Promise<void> {
    if (apps.length === 0) return;
    await this.db.query(
      `INSERT INTO gitops_observations (id, org_id, request_id, argocd_endpoint_id, mapping_id, app_name, applied_at)
       SELECT a.id, $1, $2, a.argocd_endpoint_id, a.mapping_id, a.app_name, $3
       FROM jsonb_to_recordset($4::jsonb) AS a (id text, argocd_endpoint_id text, mapping_id text, app_name text)
       ON CONFLICT (org_id, request_id, argocd_endpoint_id, app_name) DO NOTHING`,
      [orgId, requestId, appliedAt, JSON.stringify(apps)],
    );
  }

  /** The request's observations, oldest first. */
  async ofRequest(orgId: string, requestId: string): Promise<GitopsObservationRow[]> {
    const { rows } = await this.db.query<GitopsObservationRow>(
      `SELECT ${COLUMNS} FROM gitops_observations WHERE org_id = $1 AND request_id = $2 ORDER BY id LIMIT 200`,
      [orgId, requestId],
    );
    return rows;
  }

  /** The observation under a row lock, so two readers refreshing it at once append each status once. */
  async lock(id: string): Promise<GitopsObservationRow | undefined> {
    const { rows } = await this.db.query<GitopsObservationRow>(`SELECT ${COLUMNS} FROM gitops_observations WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0];
  }

  /** Records one look at Argo CD made at `checkedAt`; a final state is settled then. */
  async update(id: string, change: ObservationUpdate, checkedAt: Date): Promise<void> {
    await this.db.query(
      `UPDATE gitops_observations SET state = $2::text, transitions = $3::jsonb, last_error = $4, last_checked_at = $5::timestamptz,
         settled_at = CASE WHEN $2::text IN ('synced', 'timed_out') THEN $5::timestamptz ELSE NULL END
       WHERE id = $1`,
      [id, change.state, JSON.stringify(change.transitions), change.last_error, checkedAt],
    );
  }
}
