import type { Db } from '../../db/db';
import type { ScanStatus } from './image-scan-store';

export interface ImageRow {
  id: string;
  org_id: string;
  ref: string;
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  latest_scan_id: string;
  latest_scan_status: ScanStatus;
  created_at: Date;
  updated_at: Date;
}

/** Every SQL statement on `images`: one row per reference an org asked to scan, pointing at its latest scan. */
export class ImageStore {
  constructor(private readonly db: Db) {}

  /** Records the reference (or moves it to its newest scan). */
  async upsert(
    row: Pick<ImageRow, 'id' | 'org_id' | 'ref' | 'registry' | 'repository' | 'tag' | 'digest' | 'latest_scan_id'>,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO images (id, org_id, ref, registry, repository, tag, digest, latest_scan_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (org_id, ref) DO UPDATE SET digest = COALESCE(EXCLUDED.digest, images.digest),
         latest_scan_id = EXCLUDED.latest_scan_id, updated_at = now()`,
      [row.id, row.org_id, row.ref, row.registry, row.repository, row.tag, row.digest, row.latest_scan_id],
    );
  }

  /** The scan the reference's latest request points at (its own, or the one it joined), if it was ever asked for. */
  async latestScanId(orgId: string, ref: string): Promise<string | null> {
    const { rows } = await this.db.query<{ latest_scan_id: string }>(`SELECT latest_scan_id FROM images WHERE org_id = $1 AND ref = $2`, [
      orgId,
      ref,
    ]);
    return rows[0]?.latest_scan_id ?? null;
  }

  /** Newest first, from before the cursor id, with the status of each one's latest scan. */
  async list(orgId: string, beforeId: string | null, limit: number): Promise<ImageRow[]> {
    const { rows } = await this.db.query<ImageRow>(
      `SELECT i.id, i.org_id, i.ref, i.registry, i.repository, i.tag, i.digest, i.latest_scan_id,
              s.status AS latest_scan_status, i.created_at, i.updated_at
         FROM images i JOIN image_scans s ON s.id = i.latest_scan_id
        WHERE i.org_id = $1 AND ($2::text IS NULL OR i.id < $2) ORDER BY i.id DESC LIMIT $3`,
      [orgId, beforeId, limit],
    );
    return rows;
  }
}
