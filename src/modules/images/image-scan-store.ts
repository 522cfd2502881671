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
/** The longest failure reason kept (in the scan row and the audit event); a longer one is cut with a count of what was left out. */
export const MAX_REASON_CHARS = 1000;

/** A failure reason within MAX_REASON_CHARS: a long one keeps its start, then "… (N more characters)". */
export function capReason(reason: string): string {
  if (reason.length <= MAX_REASON_CHARS) return reason;
  const left = reason.length - (MAX_REASON_CHARS - 40);
  return `${reason.slice(0, MAX_REASON_CHARS - 40)}… (${left} more characters)`;
}

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
      [
        ...[row.id, row.org_id, row.ref, row.registry, row.repository, row.tag, row.digest, row.status],
        row.reason === null ? null : capReason(row.reason),
        row.created_by,
      ],
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

  /**
   * The newest scan of the reference that succeeded, with its report: one asked for by this
   * reference, or `sharedId`, the scan a request for it joined (another reference's, same digest).
   */
  async latestReport(orgId: string, ref: string, sharedId: string | null): Promise<ImageScanReportRow | undefined> {
    const { rows } = await this.db.query<ImageScanReportRow>(
      `SELECT ${COLUMNS}, report FROM image_scans
        WHERE org_id = $1 AND (ref = $2 OR id = $3) AND status = 'succeeded' ORDER BY id DESC LIMIT 1`,
      [orgId, ref, sharedId],
    );
    return rows[0];
  }

  /** The newest scan asked for by the reference, or `sharedId` (see latestReport). */
  async latest(orgId: string, ref: string, sharedId: string | null): Promise<ImageScanRow | undefined> {
    const { rows } = await this.db.query<ImageScanRow>(
      `SELECT ${COLUMNS} FROM image_scans WHERE org_id = $1 AND (ref = $2 OR id = $3) ORDER BY id DESC LIMIT 1`,
      [orgId, ref, sharedId],
    );
    return rows[0];
  }

  /**
   * Takes a queued scan for this worker: of the org with the fewest scans running (so one org's
   * backlog cannot hold every worker while another org waits), the oldest of those. SKIP LOCKED:
   * instances never take the same one (two claiming at once may both favour one idle org; the next claim evens it out).
   */
  async claim(): Promise<ImageScanRow | undefined> {
    const { rows } = await this.db.query<ImageScanRow>(
      `UPDATE image_scans SET status = 'running', started_at = now(), heartbeat_at = now()
        WHERE id = (SELECT q.id FROM image_scans q WHERE q.status = 'queued'
                     ORDER BY (SELECT count(*) FROM image_scans r WHERE r.status = 'running' AND r.org_id = q.org_id), q.id
                     LIMIT 1 FOR UPDATE SKIP LOCKED)
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
      [id, capReason(reason)],
    );
    return affected > 0;
  }

  /** Running scans whose worker stopped touching them (it crashed or was killed) fail with `reason`. */
  async failStale(staleSeconds: number, reason: string): Promise<number> {
    const { affected } = await this.db.query(
      `UPDATE image_scans SET status = 'failed', reason = $2, finished_at = now(), heartbeat_at = NULL
        WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1)`,
      [staleSeconds, capReason(reason)],
    );
    return affected;
  }
}
