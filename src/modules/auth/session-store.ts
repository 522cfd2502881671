import type { AdminSessionCredential, UserSessionCredential } from '../../auth/authenticator';
import type { Db } from '../../db/db';

/** A row of `sessions`: a user's login session (user_id), or a platform admin's (admin_email and token_digest). */
export interface SessionRow {
  id: string;
  kind: 'user' | 'admin';
  user_id: string | null;
  admin_email: string | null;
  token_digest: Buffer | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

/** Every SQL statement on `sessions`. */
export class SessionStore {
  constructor(private readonly db: Db) {}

  async insertUserSession(session: Pick<SessionRow, 'id' | 'expires_at'> & { user_id: string }): Promise<void> {
    await this.db.query(`INSERT INTO sessions (id, kind, user_id, expires_at) VALUES ($1, 'user', $2, $3)`, [
      session.id,
      session.user_id,
      session.expires_at,
    ]);
  }

  async insertAdminSession(session: Pick<SessionRow, 'id' | 'expires_at'> & { admin_email: string; token_digest: Buffer }): Promise<void> {
    await this.db.query(`INSERT INTO sessions (id, kind, admin_email, token_digest, expires_at) VALUES ($1, 'admin', $2, $3, $4)`, [
      session.id,
      session.admin_email,
      session.token_digest,
      session.expires_at,
    ]);
  }

  /** A revoked session keeps its first revocation time. */
  async revoke(sessionId: string): Promise<void> {
    await this.db.query(`UPDATE sessions SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`, [sessionId]);
  }

  async findAdminSession(tokenDigest: Buffer): Promise<AdminSessionCredential | undefined> {
    const { rows } = await this.db.query<AdminSessionCredential>(
      `SELECT id, admin_email, expires_at, revoked_at FROM sessions WHERE token_digest = $1 AND kind = 'admin'`,
      [tokenDigest],
    );
    return rows[0];
  }

  /** The user's session with the user's org, plan, built-in role and assigned roles, in one statement. */
  async findUserSession(sessionId: string, userId: string): Promise<UserSessionCredential | undefined> {
    const { rows } = await this.db.query<UserSessionCredential>(
      `SELECT s.expires_at, s.revoked_at, u.org_id, o.plan, u.role, COALESCE((
         SELECT json_agg(json_build_object('role_id', ur.role_id, 'name', r.name, 'permissions', r.permissions) ORDER BY ur.id)
         FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '[]') AS assigned
       FROM sessions s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = u.org_id
       WHERE s.id = $1 AND s.user_id = $2 AND s.kind = 'user'`,
      [sessionId, userId],
    );
    return rows[0];
  }
}
