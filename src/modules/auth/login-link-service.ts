import type { Db } from '../../db/db';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import { digestSecret, isWellFormedSecret, newSecret } from '../../auth/credentials';
import { UnauthorizedError, ValidationError } from '../../errors/api-error';
import type { Mailer } from '../../mail/mailer';

type EmailDelivery = components['schemas']['EmailDelivery'];
export type LoginLinkKind = 'magic_link' | 'email_verification';

const LINKS: Record<LoginLinkKind, { prefix: string; ttlMs: number; path: string; subject: string; text: string }> = {
  magic_link: {
    prefix: 'mgl',
    ttlMs: 15 * 60_000,
    path: '/api/v1/auth/magic/callback',
    subject: 'Your Warden login link',
    text: 'Log in to Warden with this link. It works once, for 15 minutes:',
  },
  email_verification: {
    prefix: 'vfy',
    ttlMs: 24 * 3_600_000,
    path: '/api/v1/auth/verify/callback',
    subject: 'Verify your email for Warden',
    text: 'Confirm this email address for Warden with this link. It works once, for 24 hours:',
  },
};

const refused = (code: string, message: string) => new UnauthorizedError(message, code);

/**
 * Single-use emailed links (magic-link login, email verification). Only a digest of each token
 * is stored; using one is a single conditional UPDATE, so of two concurrent uses exactly one wins.
 */
export class LoginLinkService {
  constructor(
    private readonly db: Db,
    private readonly mailer: Mailer,
    private readonly publicUrl: string,
    private readonly redirectAllowedOrigins: readonly string[],
  ) {}

  /** 422 unless the redirect URL's origin is allow-listed (`REDIRECT_ALLOWED_ORIGINS`). */
  assertRedirectAllowed(redirectUrl: string | undefined): void {
    if (redirectUrl === undefined || this.redirectAllowedOrigins.includes(new URL(redirectUrl).origin)) return;
    throw new ValidationError('redirect_url is not on this Warden\'s list of allowed origins (REDIRECT_ALLOWED_ORIGINS).', 'REDIRECT_NOT_ALLOWED', [
      { location: 'body', field: 'redirect_url', message: 'origin is not allowed', rule: 'allowList' },
    ]);
  }

  /**
   * Makes a link for the user, superseding their unused links of the same kind, and mails it;
   * without SMTP the token is returned instead, as seed 001 documents for "email disabled".
   */
  async issue(kind: LoginLinkKind, user: { id: string; email: string }, redirectUrl: string | undefined): Promise<EmailDelivery> {
    const link = LINKS[kind];
    const token = newSecret(link.prefix);
    const expiresAt = new Date(Date.now() + link.ttlMs);
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE login_links SET consumed_at = now() WHERE user_id = $1 AND kind = $2 AND consumed_at IS NULL`, [user.id, kind]);
      await tx.query(`INSERT INTO login_links (token_digest, kind, user_id, redirect_url, expires_at) VALUES ($1, $2, $3, $4, $5)`, [
        digestSecret(token),
        kind,
        user.id,
        redirectUrl ?? null,
        expiresAt,
      ]);
    });
    if (!this.mailer.delivers) {
      await this.mailer.record(user.email, link.subject, 'in_response');
      return { delivery: 'response', expires_at: expiresAt.toISOString(), token };
    }
    await this.mailer.send({ to: user.email, subject: link.subject, text: `${link.text}\n\n${this.publicUrl}${link.path}?token=${token}\n` });
    return { delivery: 'email', expires_at: expiresAt.toISOString() };
  }

  /** Uses the link once: the user it was for and where to send them, or 401 saying why not. */
  async consume(kind: LoginLinkKind, token: string, manager: EntityManager): Promise<{ userId: string; redirectUrl: string | null }> {
    if (!isWellFormedSecret(token, LINKS[kind].prefix)) throw refused('LINK_INVALID', 'This link is not valid.');
    const digest = digestSecret(token);
    const [rows] = await manager.query(
      `UPDATE login_links SET consumed_at = now()
       WHERE token_digest = $1 AND kind = $2 AND consumed_at IS NULL AND expires_at > now()
       RETURNING user_id, redirect_url`,
      [digest, kind],
    );
    if (rows[0]) return { userId: rows[0].user_id, redirectUrl: rows[0].redirect_url };
    const [link] = await manager.query(`SELECT consumed_at FROM login_links WHERE token_digest = $1 AND kind = $2`, [digest, kind]);
    if (!link) throw refused('LINK_INVALID', 'This link is not valid.');
    if (link.consumed_at) throw refused('LINK_USED', 'This link has already been used, or a newer one replaced it.');
    throw refused('LINK_EXPIRED', 'This link has expired; ask for a new one.');
  }
}
