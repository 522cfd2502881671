import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type Report = Omit<components['schemas']['ImageScanReport'], 'scan'>;
export type ScanStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface ImageScanRow {
  id: string;
  org_id: string;
  ref: string;
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  status: ScanStatus;
  reason: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface ImageScanReportRow extends ImageScanRow {
  report: Report;
}

const COLUMNS = 'id, org_id, ref, registry, repository, tag, digest, status, reason, created_at, started_at, finished_at';

/** Every SQL statement on `image_scans`. */
export class ImageScanStore {
  constructor(private readonly db: Db) {}

  /**
   * A new scan, queued (or failed already, with its reason). A queued one for a digest the org
   * has a queued or running scan of already is not inserted (the partial unique index decides
   * between concurrent requests): undefined then.
   */
  async insert(
    row: Omit<ImageScanRow, 'created_at' | 'started_at' | 'finished_at'> & { created_by: string | null },
  ): Promise<ImageScanRow | undefined> {
    const { rows } = await this.db.query<ImageScanRow>(
      `INSERT INTO image_scans (id, org_id, ref, registry, repository, tag, digest, status, reason, created_by, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $8 = 'failed' THEN now() END)
       ON CONFLICT (org_id, digest) WHERE status IN ('queued', 'running') AND digest IS NOT NULL DO NOTHING
       RETURNING ${COLUMNS}`,
      [row.id, row.org_id, row.ref, row.registry, row.repository, row.tag, row.digest, row.status, row.reason, row.created_by],
    );
    return rows[0];
  }

  async activeFor(orgId: string, digest: string): Promise<ImageScanRow | undefined> {
    const { rows } = await this.db.query<ImageScanRow>(
      `SELECT ${COLUMNS} FROM image_scans WHERE org_id = $1 AND digest = $2 AND status IN ('queued', 'running')`,
      [orgId, digest],
    );
    return rows[0];
  }

  async find(orgId: string, id: string): Promise<ImageScanRow | undefined> {
    const { rows } = await this.db.query<ImageScanRow>(`SELECT ${COLUMNS} FROM image_scans WHERE org_id = $1 AND id = $2`, [orgId, id]);
    return rows[0];
  }

  /** The newest scan of the reference that succeeded, with its report. */
  async latestReport(orgId: string, ref: string): Promise<ImageScanReportRow | undefined> {
    const { rows } = await this.db.query<ImageScanReportRow>(
      `SELECT ${COLUMNS}, report FROM image_scans WHERE org_id = $1 AND ref = $2 AND status = 'succeeded' ORDER BY id DESC LIMIT 1`,
      [orgId, ref],
    );
    return rows[0];
  }

  async latest(orgId: string, ref: string): Promise<ImageScanRow | undefined> {
    const { rows } = await this.db.query<ImageScanRow>(
      `SELECT ${COLUMNS} FROM image_scans WHERE org_id = $1 AND ref = $2 ORDER BY id DESC LIMIT 1`,
      [orgId, ref],
    );
    return rows[0];
  }

  /** Takes the oldest queued scan of any org for this worker (SKIP LOCKED: instances never take the same one). */
  async claim(): Promise<ImageScanRow | undefined> {
    const { rows } = await this.db.query<ImageScanRow>(
      `UPDATE image_scans SET status = 'running', started_at = now(), heartbeat_at = now()
        WHERE id = (SELECT id FROM image_scans WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,
    );
    return rows[0];
  }

  async heartbeat(id: string): Promise<void> {
    await this.db.query(`UPDATE image_scans SET heartbeat_at = now() WHERE id = $1 AND status = 'running'`, [id]);
  }

  /** The running scan succeeds with its whole report in one statement; false if it was no longer running. */
  async succeed(id: string, report: Report): Promise<boolean> {
    const { affected } = await this.db.query(
      `UPDATE image_scans SET status = 'succeeded', report = $2::jsonb, finished_at = now(), heartbeat_at = NULL
        WHERE id = $1 AND status = 'running'`,
      [id, JSON.stringify(report)],
    );
    return affected > 0;
  }

  async fail(id: string, reason: string): Promise<boolean> {
    const { affected } = await this.db.query(
      `UPDATE image_scans SET status = 'failed', reason = $2, finished_at = now(), heartbeat_at = NULL
        WHERE id = $1 AND status = 'running'`,
      [id, reason.slice(0, 1000)],
    );
    return affected > 0;
  }

  /** Running scans whose worker stopped touching them (it crashed or was killed) fail with `reason`. */
  async failStale(staleSeconds: number, reason: string): Promise<number> {
    const { affected } = await this.db.query(
      `UPDATE image_scans SET status = 'failed', reason = $2, finished_at = now(), heartbeat_at = NULL
        WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1)`,
      [staleSeconds, reason],
    );
    return affected;
  }
}
