import type { Db } from '../../db/db';

export interface SignupKeyRow {
  key: string;
  request_hmac: Buffer;
  org_id: string | null;
  user_id: string | null;
  created_at: Date;
}

/** How long a signup idempotency key holds its account. */
const SIGNUP_KEY_LIFETIME = `interval '24 hours'`;

/** Every SQL statement on `signup_idempotency_keys`. */
export class SignupKeyStore {
  constructor(private readonly db: Db) {}

  async deleteExpired(key: string): Promise<void> {
    await this.db.query(`DELETE FROM signup_idempotency_keys WHERE key = $1 AND created_at < now() - ${SIGNUP_KEY_LIFETIME}`, [key]);
  }

  /** Claims the key for this request; false when another request holds it (a concurrent one waits for it to commit). */
  async claim(key: string, requestHmac: Buffer): Promise<boolean> {
    const { rows } = await this.db.query(
      `INSERT INTO signup_idempotency_keys (key, request_hmac) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`,
      [key, requestHmac],
    );
    return rows.length > 0;
  }

  async find(key: string): Promise<Pick<SignupKeyRow, 'request_hmac' | 'org_id' | 'user_id'> | undefined> {
    const { rows } = await this.db.query<Pick<SignupKeyRow, 'request_hmac' | 'org_id' | 'user_id'>>(
      `SELECT request_hmac, org_id, user_id FROM signup_idempotency_keys WHERE key = $1`,
      [key],
    );
    return rows[0];
  }

  async setAccount(key: string, orgId: string, userId: string): Promise<void> {
    await this.db.query(`UPDATE signup_idempotency_keys SET org_id = $2, user_id = $3 WHERE key = $1`, [key, orgId, userId]);
  }
}
