import type { Db } from '../../db/db';

export interface LoginLinkRow {
  token_digest: Buffer;
  kind: 'magic_link' | 'email_verification';
  user_id: string;
  redirect_url: string | null;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

/** Every SQL statement on `login_links`. */
export class LoginLinkStore {
  constructor(private readonly db: Db) {}

  /**
   * Stores a link for the user with this email (any case) or id, superseding their unused links of
   * the same kind, in one statement that stores nothing when no user matches; the user, if one did.
   */
  async issue(
    who: { email: string } | { userId: string },
    link: Pick<LoginLinkRow, 'kind' | 'token_digest' | 'redirect_url' | 'expires_at'>,
  ): Promise<{ id: string; email: string; org_id: string } | undefined> {
    const { rows } = await this.db.query<{ id: string; email: string; org_id: string }>(
      `WITH target AS (SELECT id, email, org_id FROM users WHERE ${'email' in who ? 'lower(email) = lower($1)' : 'id = $1'}),
       superseded AS (
         UPDATE login_links SET consumed_at = now() WHERE kind = $2 AND consumed_at IS NULL AND user_id IN (SELECT id FROM target)
       ),
       inserted AS (
         INSERT INTO login_links (token_digest, kind, user_id, redirect_url, expires_at)
         SELECT $3, $2, id, $4, $5 FROM target RETURNING user_id
       )
       SELECT target.id, target.email, target.org_id FROM target JOIN inserted ON inserted.user_id = target.id`,
      ['email' in who ? who.email : who.userId, link.kind, link.token_digest, link.redirect_url, link.expires_at],
    );
    return rows[0];
  }

  /** Uses the link if it is unused and unexpired, in one conditional statement, so of two concurrent uses exactly one wins. */
  async consume(tokenDigest: Buffer, kind: LoginLinkRow['kind']): Promise<Pick<LoginLinkRow, 'user_id' | 'redirect_url'> | undefined> {
    const { rows } = await this.db.query<Pick<LoginLinkRow, 'user_id' | 'redirect_url'>>(
      `UPDATE login_links SET consumed_at = now()
       WHERE token_digest = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > now()
       RETURNING user_id, redirect_url`,
      [tokenDigest, kind],
    );
    return rows[0];
  }

  async find(tokenDigest: Buffer, kind: LoginLinkRow['kind']): Promise<Pick<LoginLinkRow, 'consumed_at'> | undefined> {
    const { rows } = await this.db.query<Pick<LoginLinkRow, 'consumed_at'>>(
      `SELECT consumed_at FROM login_links WHERE token_digest = $1 AND kind = $2`,
      [tokenDigest, kind],
    );
    return rows[0];
  }
}
