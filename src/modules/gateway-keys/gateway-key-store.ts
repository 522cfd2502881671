import type { Db } from '../../db/db';

export interface GatewayKeyRow {
  id: string;
  org_id: string;
  agent_id: string;
  vendor_id: string;
  prefix: string;
  last_four: string;
  created_at: Date;
  revoked_at: Date | null;
}

/** A key found by the digest of its secret, with its agent's and vendor's state as they are now. */
export interface GatewayKeyCredentialRow {
  id: string;
  org_id: string;
  agent_id: string;
  vendor_id: string;
  revoked: boolean;
  agent_stopped: boolean;
  vendor_deleted: boolean;
}

const COLUMNS = 'id, org_id, agent_id, vendor_id, prefix, last_four, created_at, revoked_at';

const CREDENTIAL = `SELECT k.id, k.org_id, k.agent_id, k.vendor_id, k.revoked_at IS NOT NULL AS revoked,
    (a.status = 'revoked' OR (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now()))) AS agent_stopped,
    v.deleted_at IS NOT NULL AS vendor_deleted
  FROM gateway_keys k
  JOIN agents a ON a.id = k.agent_id AND a.org_id = k.org_id
  JOIN vendors v ON v.id = k.vendor_id AND v.org_id = k.org_id`;

/** Every SQL statement on `gateway_keys`. */
export class GatewayKeyStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<GatewayKeyRow, 'created_at' | 'revoked_at'> & { secret_digest: Buffer }): Promise<GatewayKeyRow> {
    const { rows } = await this.db.query<GatewayKeyRow>(
      `INSERT INTO gateway_keys (id, org_id, agent_id, vendor_id, secret_digest, prefix, last_four)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [row.id, row.org_id, row.agent_id, row.vendor_id, row.secret_digest, row.prefix, row.last_four],
    );
    return rows[0]!;
  }

  async find(orgId: string, id: string, lock = false): Promise<GatewayKeyRow | undefined> {
    const { rows } = await this.db.query<GatewayKeyRow>(
      `SELECT ${COLUMNS} FROM gateway_keys WHERE org_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [orgId, id],
    );
    return rows[0];
  }

  /** Newest first, from before the cursor id; one more than `limit` tells whether there is more. */
  async list(
    orgId: string,
    filter: { agentId: string | null; vendorId: string | null; beforeId: string | null; limit: number },
  ): Promise<GatewayKeyRow[]> {
    const { rows } = await this.db.query<GatewayKeyRow>(
      `SELECT ${COLUMNS} FROM gateway_keys WHERE org_id = $1 AND ($2::text IS NULL OR agent_id = $2)
       AND ($3::text IS NULL OR vendor_id = $3) AND ($4::text IS NULL OR id < $4) ORDER BY id DESC LIMIT $5`,
      [orgId, filter.agentId, filter.vendorId, filter.beforeId, filter.limit],
    );
    return rows;
  }

  async revoke(orgId: string, id: string): Promise<GatewayKeyRow | undefined> {
    const { rows } = await this.db.query<GatewayKeyRow>(
      `UPDATE gateway_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [orgId, id],
    );
    return rows[0];
  }

  /**
   * The key whose secret has this digest, with its agent's kill switch (a disabled_until in the
   * past has lifted it) and whether its vendor was deleted, read in one statement.
   */
  async findCredential(digest: Buffer): Promise<GatewayKeyCredentialRow | undefined> {
    const { rows } = await this.db.query<GatewayKeyCredentialRow>(`${CREDENTIAL} WHERE k.secret_digest = $1`, [digest], { prepared: true });
    return rows[0];
  }

  /** The same facts by the key's id (a cached key checked again). */
  async findCredentialById(id: string): Promise<GatewayKeyCredentialRow | undefined> {
    const { rows } = await this.db.query<GatewayKeyCredentialRow>(`${CREDENTIAL} WHERE k.id = $1`, [id]);
    return rows[0];
  }
}
