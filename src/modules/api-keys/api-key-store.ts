import type { ApiKeyCredential } from '../../auth/authenticator';
import type { Db } from '../../db/db';

export interface ApiKeyRow {
  id: string;
  org_id: string;
  created_by: string | null;
  name: string;
  description: string;
  mode: 'live' | 'test';
  permissions: string[];
  prefix: string;
  last_four: string;
  created_at: Date;
  expires_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  rate_limit_per_minute: number | null;
}

export interface ApiKeySecretRow {
  secret_digest: Buffer;
  api_key_id: string;
  retires_at: Date | null;
  created_at: Date;
}

/** Every SQL statement on `api_keys` and `api_key_secrets`. */
export class ApiKeyStore {
  constructor(private readonly db: Db) {}

  async insert(key: Omit<ApiKeyRow, 'created_at' | 'last_used_at' | 'revoked_at'>): Promise<ApiKeyRow> {
    const { rows } = await this.db.query<ApiKeyRow>(
      `INSERT INTO api_keys
         (id, org_id, created_by, name, description, mode, permissions, prefix, last_four, expires_at, rate_limit_per_minute)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      [
        key.id,
        key.org_id,
        key.created_by,
        key.name,
        key.description,
        key.mode,
        key.permissions,
        key.prefix,
        key.last_four,
        key.expires_at,
        key.rate_limit_per_minute,
      ],
    );
    return rows[0]!;
  }

  /** Sets the fields given (undefined leaves one as it is; a null budget means the default). */
  async update(
    keyId: string,
    change: Partial<Pick<ApiKeyRow, 'name' | 'description' | 'permissions' | 'rate_limit_per_minute'>>,
  ): Promise<ApiKeyRow> {
    const { rows } = await this.db.query<ApiKeyRow>(
      `UPDATE api_keys SET name = COALESCE($2, name), description = COALESCE($3, description), permissions = COALESCE($4, permissions),
         rate_limit_per_minute = CASE WHEN $5 THEN $6 ELSE rate_limit_per_minute END
       WHERE id = $1 RETURNING *`,
      [
        keyId,
        change.name ?? null,
        change.description ?? null,
        change.permissions ?? null,
        change.rate_limit_per_minute !== undefined,
        change.rate_limit_per_minute ?? null,
      ],
    );
    return rows[0]!;
  }

  async insertSecret(secret: Pick<ApiKeySecretRow, 'secret_digest' | 'api_key_id'>): Promise<void> {
    await this.db.query(`INSERT INTO api_key_secrets (secret_digest, api_key_id) VALUES ($1, $2)`, [
      secret.secret_digest,
      secret.api_key_id,
    ]);
  }

  async list(orgId: string, after: string | null, limit: number): Promise<ApiKeyRow[]> {
    const { rows } = await this.db.query<ApiKeyRow>(
      `SELECT * FROM api_keys WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [orgId, after, limit],
    );
    return rows;
  }

  async findSummary(keyId: string): Promise<Pick<ApiKeyRow, 'id' | 'name' | 'mode' | 'prefix' | 'expires_at'> | undefined> {
    const { rows } = await this.db.query<Pick<ApiKeyRow, 'id' | 'name' | 'mode' | 'prefix' | 'expires_at'>>(
      `SELECT id, name, mode, prefix, expires_at FROM api_keys WHERE id = $1`,
      [keyId],
    );
    return rows[0];
  }

  async findSummaryInOrg(orgId: string, keyId: string): Promise<Pick<ApiKeyRow, 'id'> | undefined> {
    const { rows } = await this.db.query<Pick<ApiKeyRow, 'id'>>(`SELECT id FROM api_keys WHERE id = $1 AND org_id = $2`, [keyId, orgId]);
    return rows[0];
  }

  async lockForUpdate(orgId: string, keyId: string): Promise<ApiKeyRow | undefined> {
    const { rows } = await this.db.query<ApiKeyRow>(`SELECT * FROM api_keys WHERE id = $1 AND org_id = $2 FOR UPDATE`, [keyId, orgId]);
    return rows[0];
  }

  /** Counts the keys that still work: neither revoked nor expired. */
  async countLive(orgId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [orgId],
    );
    return rows[0]!.n;
  }

  /** Revokes the key (a revoked key keeps its first revocation time); undefined when the org has no such key. */
  /** The revoked key, and when it had been revoked before (null if it was live); undefined when the org has no such key. */
  async revoke(orgId: string, keyId: string): Promise<(ApiKeyRow & { revoked_before: Date | null }) | undefined> {
    const { rows } = await this.db.query<ApiKeyRow & { revoked_before: Date | null }>(
      `UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, now())
       FROM (SELECT id, revoked_at FROM api_keys WHERE id = $1 AND org_id = $2 FOR UPDATE) old
       WHERE k.id = old.id RETURNING k.*, old.revoked_at AS revoked_before`,
      [keyId, orgId],
    );
    return rows[0];
  }

  async revokeCreatedBy(userId: string): Promise<void> {
    await this.db.query(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE created_by = $1`, [userId]);
  }

  /** Every secret of the key in use retires at the end of the grace period, or keeps an earlier retirement. */
  async retireSecrets(keyId: string, gracePeriodSeconds: number): Promise<void> {
    await this.db.query(
      `UPDATE api_key_secrets SET retires_at = LEAST(COALESCE(retires_at, 'infinity'), now() + make_interval(secs => $2))
       WHERE api_key_id = $1`,
      [keyId, gracePeriodSeconds],
    );
  }

  async setShownSecret(keyId: string, prefix: string, lastFour: string): Promise<ApiKeyRow> {
    const { rows } = await this.db.query<ApiKeyRow>(`UPDATE api_keys SET prefix = $2, last_four = $3 WHERE id = $1 RETURNING *`, [
      keyId,
      prefix,
      lastFour,
    ]);
    return rows[0]!;
  }

  /**
   * The key a secret belongs to, with what authentication needs in the same statement: the
   * secret's retirement, the org's plan, and the creating user's built-in role and assigned roles
   * (the creator's columns are null when the creator is gone), and the device binding: whether
   * the key has devices, and the one the request names (two probes of the devices' unique index).
   */
  async findCredential(secretDigest: Buffer, deviceFingerprint: string | null): Promise<ApiKeyCredential | undefined> {
    const { rows } = await this.db.query<ApiKeyCredential>(
      `SELECT k.id, k.org_id, k.created_by, k.permissions, k.expires_at, k.revoked_at, k.last_used_at, k.rate_limit_per_minute,
         s.retires_at, o.plan,
         u.role AS creator_role, COALESCE((
           SELECT json_agg(json_build_object('role_id', ur.role_id, 'name', r.name, 'permissions', r.permissions) ORDER BY ur.id)
           FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '[]') AS creator_assigned,
         EXISTS (SELECT 1 FROM api_key_devices ad WHERE ad.api_key_id = k.id) AS device_bound, d.id AS device_id,
         d.last_seen_at AS device_seen_at
       FROM api_key_secrets s JOIN api_keys k ON k.id = s.api_key_id JOIN orgs o ON o.id = k.org_id
         LEFT JOIN users u ON u.id = k.created_by AND u.org_id = k.org_id
         LEFT JOIN api_key_devices d ON d.api_key_id = k.id AND d.fingerprint = $2
       WHERE s.secret_digest = $1`,
      [secretDigest, deviceFingerprint],
      { prepared: true },
    );
    return rows[0];
  }

  async markUsed(keyId: string): Promise<void> {
    await this.db.query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [keyId]);
  }
}
