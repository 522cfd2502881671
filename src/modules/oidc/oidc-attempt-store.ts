import type { Db } from '../../db/db';

export interface OidcAttemptRow {
  state_digest: Buffer;
  nonce: string;
  code_verifier: string;
  redirect_url: string | null;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

/** Every SQL statement on `oidc_login_attempts`. */
export class OidcAttemptStore {
  constructor(private readonly db: Db) {}

  /** Stores an attempt, and drops the expired ones so abandoned sign-ins do not pile up. */
  async insert(attempt: Pick<OidcAttemptRow, 'state_digest' | 'nonce' | 'code_verifier' | 'redirect_url' | 'expires_at'>): Promise<void> {
    await this.db.query(`DELETE FROM oidc_login_attempts WHERE expires_at < now() - interval '1 hour'`);
    await this.db.query(
      `INSERT INTO oidc_login_attempts (state_digest, nonce, code_verifier, redirect_url, expires_at) VALUES ($1, $2, $3, $4, $5)`,
      [attempt.state_digest, attempt.nonce, attempt.code_verifier, attempt.redirect_url, attempt.expires_at],
    );
  }

  /** Uses the attempt if it is unused and unexpired, in one conditional statement, so of two concurrent callbacks exactly one wins. */
  async consume(stateDigest: Buffer): Promise<Pick<OidcAttemptRow, 'nonce' | 'code_verifier' | 'redirect_url'> | undefined> {
    const { rows } = await this.db.query<Pick<OidcAttemptRow, 'nonce' | 'code_verifier' | 'redirect_url'>>(
      `UPDATE oidc_login_attempts SET consumed_at = now()
       WHERE state_digest = $1 AND consumed_at IS NULL AND expires_at > now()
       RETURNING nonce, code_verifier, redirect_url`,
      [stateDigest],
    );
    return rows[0];
  }

  async find(stateDigest: Buffer): Promise<Pick<OidcAttemptRow, 'consumed_at'> | undefined> {
    const { rows } = await this.db.query<Pick<OidcAttemptRow, 'consumed_at'>>(
      `SELECT consumed_at FROM oidc_login_attempts WHERE state_digest = $1`,
      [stateDigest],
    );
    return rows[0];
  }
}
