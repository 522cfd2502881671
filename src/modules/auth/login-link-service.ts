import type { Logger } from 'pino';
import type { components } from '../../../generated/api';
import { digestSecret, isWellFormedSecret, newSecret } from '../../auth/credentials';
import type { Db } from '../../db/db';
import { UnauthorizedError, ValidationError } from '../../errors/api-error';
import type { Mailer, MailMessage } from '../../mail/mailer';
import { type LoginLinkRow, LoginLinkStore } from './login-link-store';

type EmailDelivery = components['schemas']['EmailDelivery'];
export type LoginLinkKind = LoginLinkRow['kind'];

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

const refused = (code: UnauthorizedError['code'], message: string) => new UnauthorizedError(message, code);

/** A link made (or, for an email no user has, not made) by `issue`. */
export interface IssuedLink {
  /** The user the link is for; null when no user matched, and then nothing was stored and nothing is mailed. */
  user: { id: string; email: string; org_id: string } | null;
  answer: EmailDelivery;
  mail: MailMessage | null;
}

/**
 * Single-use emailed links (magic-link login, email verification). Only a digest of each token
 * is stored; using one is a single conditional UPDATE, so of two concurrent uses exactly one wins.
 * A token reaches only the mailbox (or, without SMTP, the server log); DEV_RETURN_LINK_TOKENS
 * puts it in the answer instead, for development.
 */
export class LoginLinkService {
  private readonly store: LoginLinkStore;

  constructor(
    db: Db,
    private readonly mailer: Pick<Mailer, 'record' | 'dispatch'>,
    logger: Logger,
    private readonly options: { publicUrl: string; redirectAllowedOrigins: readonly string[]; returnTokens: boolean },
  ) {
    this.store = new LoginLinkStore(db);
    if (options.returnTokens) {
      logger.warn(
        'DEV_RETURN_LINK_TOKENS is on: magic-link and email-verification tokens are returned in API answers, so anyone who knows ' +
          'an email can log in as its user. Development only; never expose this Warden.',
      );
    }
  }

  /** 422 unless the redirect URL's origin is allow-listed (`REDIRECT_ALLOWED_ORIGINS`). */
  assertRedirectAllowed(redirectUrl: string | undefined): void {
    if (redirectUrl === undefined || this.options.redirectAllowedOrigins.includes(new URL(redirectUrl).origin)) return;
    throw new ValidationError(
      "redirect_url is not on this Warden's list of allowed origins (REDIRECT_ALLOWED_ORIGINS).",
      'REDIRECT_NOT_ALLOWED',
      [{ location: 'body', field: 'redirect_url', message: 'origin is not allowed', rule: 'allowList' }],
    );
  }

  /**
   * Makes a link for the user with this email or id, superseding their unused links of the same
   * kind. One statement does it, and stores nothing when no user matches, so an unknown email
   * costs the same work and gets the same answer. Run it in the transaction that records the
   * event, then `deliver` the result once that has committed.
   */
  async issue(kind: LoginLinkKind, who: { email: string } | { userId: string }, redirectUrl: string | undefined): Promise<IssuedLink> {
    const link = LINKS[kind];
    const token = newSecret(link.prefix);
    const expiresAt = new Date(Date.now() + link.ttlMs);
    const user = await this.store.issue(who, {
      kind,
      token_digest: digestSecret(token),
      redirect_url: redirectUrl ?? null,
      expires_at: expiresAt,
    });
    const expires_at = expiresAt.toISOString();
    if (this.options.returnTokens) {
      if (user) await this.mailer.record(user.email, link.subject, 'in_response');
      // An unknown email gets a token too (one that matches no link): even here the answer does not tell who has an account.
      return { user: user ?? null, answer: { delivery: 'response', expires_at, token }, mail: null };
    }
    const mail = user
      ? { to: user.email, subject: link.subject, text: `${link.text}\n\n${this.options.publicUrl}${link.path}?token=${token}\n` }
      : null;
    return { user: user ?? null, answer: { delivery: 'email', expires_at }, mail };
  }

  /** Sends the link's mail, if any; call it after the transaction that stored the link has committed. */
  deliver(issued: IssuedLink): void {
    if (issued.mail) this.mailer.dispatch(issued.mail);
  }

  /** Uses the link once: the user it was for and where to send them, or 401 saying why not. */
  async consume(kind: LoginLinkKind, token: string): Promise<{ userId: string; redirectUrl: string | null }> {
    if (!isWellFormedSecret(token, LINKS[kind].prefix)) throw refused('LINK_INVALID', 'This link is not valid.');
    const digest = digestSecret(token);
    const used = await this.store.consume(digest, kind);
    if (used) return { userId: used.user_id, redirectUrl: used.redirect_url };
    const link = await this.store.find(digest, kind);
    if (!link) throw refused('LINK_INVALID', 'This link is not valid.');
    if (link.consumed_at) throw refused('LINK_USED', 'This link has already been used, or a newer one replaced it.');
    throw refused('LINK_EXPIRED', 'This link has expired; ask for a new one.');
  }
}
