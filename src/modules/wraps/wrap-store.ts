import type { Db } from '../../db/db';

export interface WrapRow {
  id: string;
  org_id: string;
  request_id: string;
  kind: 'read' | 'patch';
  created_by: string;
  size_bytes: number;
  expires_at: Date;
  retrieved_at: Date | null;
  retrieved_by: string | null;
  created_at: Date;
}

/** A wrap with its sealed value (null once retrieved or expired). */
export interface SealedWrapRow extends WrapRow {
  kek_id: string | null;
  wrapped_dek: Buffer | null;
  ciphertext: Buffer | null;
}

const COLUMNS = 'id, org_id, request_id, kind, created_by, size_bytes, expires_at, retrieved_at, retrieved_by, created_at';

/** Every SQL statement on `wraps`. A wrap's row outlives its value: the summary stays, the ciphertext goes. */
export class WrapStore {
  constructor(private readonly db: Db) {}

  /** Undefined when the request already has its wrap. */
  async insert(row: Omit<SealedWrapRow, 'retrieved_at' | 'retrieved_by' | 'created_at'>): Promise<WrapRow | undefined> {
    const { rows } = await this.db.query<WrapRow>(
      `INSERT INTO wraps (id, org_id, request_id, kind, created_by, size_bytes, kek_id, wrapped_dek, ciphertext, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (request_id) DO NOTHING RETURNING ${COLUMNS}`,
      [
        row.id,
        row.org_id,
        row.request_id,
        row.kind,
        row.created_by,
        row.size_bytes,
        row.kek_id,
        row.wrapped_dek,
        row.ciphertext,
        row.expires_at,
      ],
    );
    return rows[0];
  }

  async listForRequest(orgId: string, requestId: string): Promise<WrapRow[]> {
    const { rows } = await this.db.query<WrapRow>(`SELECT ${COLUMNS} FROM wraps WHERE org_id = $1 AND request_id = $2 ORDER BY id`, [
      orgId,
      requestId,
    ]);
    return rows;
  }

  /** The wrap with its sealed value, locked: of concurrent retrievals, the first takes the value and the rest find it gone. */
  async lock(orgId: string, id: string): Promise<SealedWrapRow | undefined> {
    const { rows } = await this.db.query<SealedWrapRow>(
      `SELECT ${COLUMNS}, kek_id, wrapped_dek, ciphertext FROM wraps WHERE org_id = $1 AND id = $2 FOR UPDATE`,
      [orgId, id],
    );
    return rows[0];
  }

  /** Erases the value; `retrievedBy` null when it expired unread. */
  async erase(id: string, retrievedBy: string | null): Promise<WrapRow> {
    const { rows } = await this.db.query<WrapRow>(
      `UPDATE wraps SET kek_id = NULL, wrapped_dek = NULL, ciphertext = NULL,
         retrieved_at = CASE WHEN $2::text IS NULL THEN retrieved_at ELSE now() END, retrieved_by = COALESCE($2, retrieved_by)
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, retrievedBy],
    );
    return rows[0]!;
  }

  /** Erases the unread value of the request's wrap, if any (the request was rejected, cancelled or failed). */
  async eraseForRequest(requestId: string): Promise<void> {
    await this.db.query(
      `UPDATE wraps SET kek_id = NULL, wrapped_dek = NULL, ciphertext = NULL, expires_at = LEAST(expires_at, now())
       WHERE request_id = $1 AND ciphertext IS NOT NULL`,
      [requestId],
    );
  }

  /** Erases values past their expiry, a batch at a time; returns how many. */
  async eraseExpired(limit: number): Promise<number> {
    const { affected } = await this.db.query(
      `UPDATE wraps SET kek_id = NULL, wrapped_dek = NULL, ciphertext = NULL
       WHERE id IN (SELECT id FROM wraps WHERE ciphertext IS NOT NULL AND expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [limit],
    );
    return affected;
  }
}
