import type { Db } from '../../db/db';
import { createHmac } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import { hashPassword, UNUSABLE_PASSWORD_HASH, verifyPassword } from '../../auth/credentials';
import type { LoginTokens } from '../../auth/login-tokens';
import type { Principal } from '../../auth/principal';
import type { RequestBody } from '../../binding/handler-types';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import type { InstanceSecrets } from '../../db/instance-secrets';
import { ConflictError, UnauthorizedError } from '../../errors/api-error';
import { type AuditService } from '../audit';
import { actorOf, type NewAuditEvent, type RequestFacts } from '../../audit/audit-event';
import type { OrgService } from '../orgs';
import { toUser, USER_COLUMNS, type UserRow } from '../users';
import type { IssuedLink, LoginLinkKind, LoginLinkService } from './login-link-service';

type PrincipalBody = components['schemas']['Principal'];
type LoginResult = components['schemas']['LoginResult'];
type Signup = RequestBody<'signup'>;
type EmailDelivery = components['schemas']['EmailDelivery'];

/** The event of a session opened by following each kind of link. */
const LINK_LOGIN_ACTIONS: Record<LoginLinkKind, string> = { magic_link: 'auth.magic_link_login', email_verification: 'auth.email_verified' };

/** What a followed link answers: a redirect carrying the JWT in its fragment, or the login itself. */
export type LinkOutcome = { redirectTo: string; login: LoginResult } | { redirectTo: null; login: LoginResult };

interface OpenedSession {
  sessionId: string;
  expiresAt: Date;
  user: UserRow;
}

const SIGNUP_KEY_LIFETIME = `interval '24 hours'`;

/** Signing up, logging in (password, magic link), email verification, logout, and describing the caller. */
export class AuthService {
  constructor(
    private readonly db: Db,
    private readonly loginTokens: LoginTokens,
    private readonly orgs: OrgService,
    private readonly links: LoginLinkService,
    private readonly secrets: InstanceSecrets,
    private readonly audit: AuditService,
  ) {}

  /** A wrong email costs the same scrypt work as a wrong password, and gets the same answer. */
  async login(email: string, password: string, request: RequestFacts): Promise<LoginResult> {
    const [row]: Array<UserRow & { password_hash: string | null }> = await this.db.untypedQuery(
      `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)`,
      [email],
    );
    const matches = await verifyPassword(password, row?.password_hash ?? UNUSABLE_PASSWORD_HASH);
    if (!row || !matches) {
      await this.audit.record({
        orgId: row?.org_id ?? null,
        actor: { type: 'anonymous', id: email.toLowerCase() },
        action: 'auth.login_failed',
        resourceType: 'user',
        resourceId: row?.id ?? null,
        outcome: 'failure',
        ...request,
      });
      throw new UnauthorizedError('The email or password is wrong.', 'LOGIN_FAILED');
    }
    return this.signed(await this.db.transaction((manager) => this.openSession(manager, row.id, 'auth.login', request)));
  }

  /**
   * Creates an org on the free plan and its owner. With an idempotency key, the first request
   * claims the key (a concurrent one waits on it) and a retry with the same body gets the same
   * account back; only an HMAC of the body and the ids are kept, never the password or a token.
   */
  async signup(input: Signup, request: RequestFacts): Promise<LoginResult & { org: components['schemas']['Org']; email_verification: EmailDelivery }> {
    this.links.assertRedirectAllowed(input.redirect_url);
    const requestHmac = input.idempotency_key ? await this.signupHmac(input) : undefined;
    const passwordHash = await hashPassword(input.password);
    const { orgId, session, verification } = await this.db.transaction(async (manager) => {
      const signedUp = async (orgId: string, userId: string, replayed: boolean) => {
        const verification = await this.links.issue('email_verification', { userId }, input.redirect_url);
        const session = await this.openSession(manager, userId, 'auth.signup', request, replayed ? { idempotent_replay: true } : {});
        return { orgId, session, verification };
      };
      if (input.idempotency_key) {
        await manager.query(`DELETE FROM signup_idempotency_keys WHERE key = $1 AND created_at < now() - ${SIGNUP_KEY_LIFETIME}`, [input.idempotency_key]);
        const claimed = await manager.query(
          `INSERT INTO signup_idempotency_keys (key, request_hmac) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`,
          [input.idempotency_key, requestHmac],
        );
        if (claimed.length === 0) {
          const [earlier] = await manager.query(`SELECT request_hmac, org_id, user_id FROM signup_idempotency_keys WHERE key = $1`, [input.idempotency_key]);
          if (!earlier.request_hmac.equals(requestHmac)) {
            throw new ConflictError('This idempotency_key was used with a different request body.', 'IDEMPOTENCY_KEY_REUSED');
          }
          return signedUp(earlier.org_id, earlier.user_id, true);
        }
      }
      const org = await this.orgs.create(input.org_name ?? input.email.split('@')[1]!, 'free', manager);
      const userId = newId('usr');
      try {
        await manager.query(`INSERT INTO users (id, org_id, email, password_hash, role) VALUES ($1, $2, $3, $4, 'owner')`, [
          userId,
          org.id,
          input.email,
          passwordHash,
        ]);
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`A user with the email ${input.email} already exists.`, 'EMAIL_TAKEN');
        throw error;
      }
      if (input.idempotency_key) {
        await manager.query(`UPDATE signup_idempotency_keys SET org_id = $2, user_id = $3 WHERE key = $1`, [input.idempotency_key, org.id, userId]);
      }
      return signedUp(org.id, userId, false);
    });
    this.links.deliver(verification);
    const login = await this.signed(session);
    return { ...login, org: await this.orgs.get(orgId), email_verification: verification.answer };
  }

  /**
   * Mails a login link to a user's email. An unknown email gets the same answer after the same
   * work (one statement that stores nothing, one audit event in the platform chain instead of
   * the user's org), and no link.
   */
  async startMagicLink(email: string, redirectUrl: string | undefined, request: RequestFacts) {
    this.links.assertRedirectAllowed(redirectUrl);
    return this.issueLink('magic_link', { email }, redirectUrl, (user) => ({
      orgId: user?.org_id ?? null,
      actor: { type: 'anonymous', id: email.toLowerCase() },
      action: 'auth.magic_link_requested',
      resourceType: 'user',
      resourceId: user?.id ?? null,
      outcome: user ? 'success' : 'failure',
      ...request,
    }));
  }

  async startEmailVerification(principal: Principal, redirectUrl: string | undefined, request: RequestFacts) {
    if (principal.kind !== 'user' || !principal.userId) {
      throw new ConflictError('Only a logged-in user verifies an email; log in with POST /api/v1/auth/login.', 'NOT_A_USER_LOGIN');
    }
    this.links.assertRedirectAllowed(redirectUrl);
    const [user] = await this.db.untypedQuery(`SELECT email_verified_at FROM users WHERE id = $1`, [principal.userId]);
    if (user.email_verified_at) throw new ConflictError('This email is already verified.', 'EMAIL_ALREADY_VERIFIED');
    return this.issueLink('email_verification', { userId: principal.userId }, redirectUrl, () => ({
      orgId: principal.orgId,
      actor: actorOf(principal),
      action: 'auth.email_verification_requested',
      resourceType: 'user',
      resourceId: principal.userId,
      outcome: 'success',
      ...request,
    }));
  }

  /**
   * Uses a link once and logs its user in. Either kind proves the user reads the mailbox, so
   * both mark the email verified.
   */
  async completeLink(kind: LoginLinkKind, token: string, request: RequestFacts): Promise<LinkOutcome> {
    const { redirectUrl, session } = await this.db.transaction(async (manager) => {
      const { userId, redirectUrl } = await this.links.consume(kind, token, manager);
      await manager.query(`UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()) WHERE id = $1`, [userId]);
      return { redirectUrl, session: await this.openSession(manager, userId, LINK_LOGIN_ACTIONS[kind], request) };
    });
    const login = await this.signed(session);
    if (!redirectUrl) return { redirectTo: null, login };
    const target = new URL(redirectUrl);
    target.hash = `token=${encodeURIComponent(login.token)}`;
    return { redirectTo: target.toString(), login };
  }

  /** Revokes the caller's login or admin session; admin sessions belong to no org, so theirs is a platform event. */
  async logout(principal: Principal, request: RequestFacts): Promise<void> {
    const { sessionId } = principal;
    if (!sessionId) {
      throw new ConflictError('API keys have no session to log out of; revoke the key with DELETE /api/v1/api-keys/{id}.', 'NOT_A_SESSION');
    }
    await this.db.transaction(async (manager) => {
      await manager.query(`UPDATE sessions SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`, [sessionId]);
      await this.audit.append({
        orgId: principal.orgId,
        actor: actorOf(principal),
        action: 'auth.logout',
        resourceType: 'session',
        resourceId: sessionId,
        outcome: 'success',
        ...request,
      });
    });
  }

  async describe(principal: Principal): Promise<PrincipalBody> {
    const { kind } = principal;
    // Agent secrets and runtime tokens never reach this operation: its security schemes refuse them.
    if (kind !== 'user' && kind !== 'api_key' && kind !== 'admin_session') throw new UnauthorizedError();
    const body: PrincipalBody = {
      type: kind,
      roles: principal.roles,
      permissions: [...principal.permissions].sort(),
      expires_at: principal.expiresAt!.toISOString(),
    };
    if (principal.orgId) body.org = await this.orgs.get(principal.orgId);
    if (principal.userId) {
      const [user] = await this.db.untypedQuery(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [principal.userId]);
      if (user) body.user = toUser(user);
    }
    if (principal.apiKeyId) {
      const [key] = await this.db.untypedQuery(`SELECT id, name, mode, prefix, expires_at FROM api_keys WHERE id = $1`, [principal.apiKeyId]);
      body.api_key = { ...key, expires_at: key.expires_at.toISOString() };
    }
    if (principal.adminEmail) body.admin = { email: principal.adminEmail };
    return body;
  }

  /**
   * A server-side session, inside the caller's transaction, with its audit event (the user's org,
   * by the user); logout revokes it, and with it the token.
   */
  private async openSession(
    manager: EntityManager,
    userId: string,
    action: string,
    request: RequestFacts,
    details: Record<string, unknown> = {},
  ): Promise<OpenedSession> {
    const sessionId = newId('ses');
    // Whole seconds, so expires_at equals the token's exp claim.
    const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + this.loginTokens.ttlMinutes * 60_000);
    await manager.query(`INSERT INTO sessions (id, kind, user_id, expires_at) VALUES ($1, 'user', $2, $3)`, [sessionId, userId, expiresAt]);
    const [[user]] = await manager.query(`UPDATE users SET last_login_at = now() WHERE id = $1 RETURNING ${USER_COLUMNS}`, [userId]);
    await this.audit.append({
      orgId: user.org_id,
      actor: { type: 'user', id: userId },
      action,
      resourceType: 'session',
      resourceId: sessionId,
      outcome: 'success',
      ...request,
      details: { ...details, expires_at: expiresAt.toISOString() },
    });
    return { sessionId, expiresAt, user };
  }

  /** Stores a link and its audit event together, and mails the link once both have committed. */
  private async issueLink(
    kind: LoginLinkKind,
    who: { email: string } | { userId: string },
    redirectUrl: string | undefined,
    event: (user: IssuedLink['user']) => NewAuditEvent,
  ): Promise<EmailDelivery> {
    const issued = await this.db.transaction(async (manager) => {
      const issued = await this.links.issue(kind, who, redirectUrl);
      await this.audit.append({ ...event(issued.user), details: { kind, expires_at: issued.answer.expires_at } });
      return issued;
    });
    this.links.deliver(issued);
    return issued.answer;
  }

  /**
   * Signs the session's JWT once its transaction has committed: the signing key may be read
   * from the database on first use, which must not wait for a connection the transaction holds.
   */
  private async signed(session: OpenedSession): Promise<LoginResult> {
    return {
      token: await this.loginTokens.sign({ sub: session.user.id, sid: session.sessionId }, session.expiresAt),
      expires_at: session.expiresAt.toISOString(),
      user: toUser(session.user),
    };
  }

  /** The signup body minus its key, canonical (sorted keys), keyed by a per-database secret. */
  private async signupHmac(input: Signup): Promise<Buffer> {
    const { idempotency_key: _key, ...request } = input;
    const canonical = JSON.stringify(Object.fromEntries(Object.entries(request).sort(([a], [b]) => a.localeCompare(b))));
    return createHmac('sha256', await this.secrets.get('signup_idempotency_hmac')).update(canonical).digest();
  }
}
