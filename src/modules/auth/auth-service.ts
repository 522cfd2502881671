import { createHmac } from 'node:crypto';
import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts, type NewAuditEvent } from '../../audit/audit-event';
import {
  ADMIN_SESSION_PREFIX,
  type AdminSessionCredential,
  type SessionCredentials,
  type UserSessionCredential,
} from '../../auth/authenticator';
import { digestSecret, hashPassword, newSecret, UNUSABLE_PASSWORD_HASH, verifyPassword } from '../../auth/credentials';
import type { LoginTokens } from '../../auth/login-tokens';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import type { InstanceSecrets } from '../../db/instance-secrets';
import { ConflictError, UnauthorizedError } from '../../errors/api-error';
import type { ApiKeyService } from '../api-keys';
import type { AuditService } from '../audit';
import type { OrgService } from '../orgs';
import type { UserService } from '../users';
import type { IssuedLink, LoginLinkKind, LoginLinkService } from './login-link-service';
import { SessionStore } from './session-store';
import { SignupKeyStore } from './signup-key-store';

type PrincipalBody = components['schemas']['Principal'];
type Me = components['schemas']['Me'];
type LoginResult = components['schemas']['LoginResult'];
type User = components['schemas']['User'];
type Signup = operations['signup']['requestBody']['content']['application/json'];
type EmailDelivery = components['schemas']['EmailDelivery'];

/** The event of a session opened by following each kind of link. */
const LINK_LOGIN_ACTIONS: Record<LoginLinkKind, string> = {
  magic_link: 'auth.magic_link_login',
  email_verification: 'auth.email_verified',
};

/** What a followed link answers: a redirect carrying the JWT in its fragment, or the login itself. */
export type LinkOutcome = { redirectTo: string; login: LoginResult } | { redirectTo: null; login: LoginResult };

interface OpenedSession {
  sessionId: string;
  expiresAt: Date;
  user: User;
}

/** Signing up, logging in (password, magic link), email verification, logout, and describing the caller. */
export class AuthService implements SessionCredentials {
  private readonly sessions: SessionStore;
  private readonly signupKeys: SignupKeyStore;

  constructor(
    private readonly db: Db,
    private readonly loginTokens: LoginTokens,
    private readonly orgs: Pick<OrgService, 'create' | 'get'>,
    private readonly users: Pick<
      UserService,
      'find' | 'findFirstOwner' | 'findLogin' | 'insert' | 'isEmailVerified' | 'markEmailVerified' | 'recordLogin'
    >,
    private readonly apiKeys: Pick<ApiKeyService, 'summary'>,
    private readonly links: LoginLinkService,
    private readonly secrets: Pick<InstanceSecrets, 'get'>,
    private readonly audit: Pick<AuditService, 'append' | 'record'>,
    /** Signup's seed-001 billing fields (billing email, default agent budget, wallet), applied with the new org. */
    private readonly seedOrg: (orgId: string, input: Signup) => Promise<void> = async () => undefined,
  ) {
    this.sessions = new SessionStore(db);
    this.signupKeys = new SignupKeyStore(db);
  }

  /** A wrong email costs the same scrypt work as a wrong password, and gets the same answer. */
  async login(email: string, password: string): Promise<LoginResult> {
    const found = await this.users.findLogin(email);
    const matches = await verifyPassword(password, found?.passwordHash ?? UNUSABLE_PASSWORD_HASH);
    if (!found || !matches) {
      await this.audit.record({
        orgId: found?.user.org_id ?? null,
        actor: { type: 'anonymous', id: email.toLowerCase() },
        action: 'auth.login_failed',
        resourceType: 'user',
        resourceId: found?.user.id ?? null,
        outcome: 'failure',
        ...currentRequestFacts(),
      });
      throw new UnauthorizedError('The email or password is wrong.', 'LOGIN_FAILED');
    }
    return this.signed(await this.db.transaction(() => this.openSession(found.user.id, 'auth.login')));
  }

  /**
   * Creates an org on the free plan and its owner. With an idempotency key, the first request
   * claims the key (a concurrent one waits on it) and a retry with the same body gets the same
   * account back; only an HMAC of the body and the ids are kept, never the password or a token.
   */
  async signup(input: Signup): Promise<LoginResult & { org: components['schemas']['Org']; email_verification: EmailDelivery }> {
    this.links.assertRedirectAllowed(input.redirect_url);
    const requestHmac = input.idempotency_key ? await this.signupHmac(input) : undefined;
    const passwordHash = await hashPassword(input.password);
    const { orgId, session, verification } = await this.db.transaction(async () => {
      const signedUp = async (orgId: string, userId: string, replayed: boolean) => {
        const verification = await this.links.issue('email_verification', { userId }, input.redirect_url);
        const session = await this.openSession(userId, 'auth.signup', replayed ? { idempotent_replay: true } : {});
        return { orgId, session, verification };
      };
      if (input.idempotency_key) {
        await this.signupKeys.deleteExpired(input.idempotency_key);
        if (!(await this.signupKeys.claim(input.idempotency_key, requestHmac!))) {
          const earlier = (await this.signupKeys.find(input.idempotency_key))!;
          if (!earlier.request_hmac.equals(requestHmac!)) {
            throw new ConflictError('This idempotency_key was used with a different request body.', 'IDEMPOTENCY_KEY_REUSED');
          }
          return signedUp(earlier.org_id!, earlier.user_id!, true);
        }
      }
      const org = await this.orgs.create(input.org_name ?? input.email.split('@')[1]!, 'free');
      const user = await this.users.insert(org.id, input.email, passwordHash, 'owner');
      await this.seedOrg(org.id, input);
      if (input.idempotency_key) await this.signupKeys.setAccount(input.idempotency_key, org.id, user.id);
      return signedUp(org.id, user.id, false);
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
  async startMagicLink(email: string, redirectUrl: string | undefined) {
    this.links.assertRedirectAllowed(redirectUrl);
    return this.issueLink('magic_link', { email }, redirectUrl, (user) => ({
      orgId: user?.org_id ?? null,
      actor: { type: 'anonymous', id: email.toLowerCase() },
      action: 'auth.magic_link_requested',
      resourceType: 'user',
      resourceId: user?.id ?? null,
      outcome: user ? 'success' : 'failure',
      ...currentRequestFacts(),
    }));
  }

  async startEmailVerification(principal: Principal, redirectUrl: string | undefined) {
    if (principal.kind !== 'user' || !principal.userId) {
      throw new ConflictError('Only a logged-in user verifies an email; log in with POST /api/v1/auth/login.', 'NOT_A_USER_LOGIN');
    }
    this.links.assertRedirectAllowed(redirectUrl);
    if (await this.users.isEmailVerified(principal.userId)) {
      throw new ConflictError('This email is already verified.', 'EMAIL_ALREADY_VERIFIED');
    }
    return this.issueLink('email_verification', { userId: principal.userId }, redirectUrl, () => ({
      orgId: principal.orgId,
      actor: actorOf(principal),
      action: 'auth.email_verification_requested',
      resourceType: 'user',
      resourceId: principal.userId,
      outcome: 'success',
      ...currentRequestFacts(),
    }));
  }

  /**
   * Uses a link once and logs its user in. Either kind proves the user reads the mailbox, so
   * both mark the email verified.
   */
  async completeLink(kind: LoginLinkKind, token: string): Promise<LinkOutcome> {
    const { redirectUrl, session } = await this.db.transaction(async () => {
      const { userId, redirectUrl } = await this.links.consume(kind, token);
      await this.users.markEmailVerified(userId);
      return { redirectUrl, session: await this.openSession(userId, LINK_LOGIN_ACTIONS[kind]) };
    });
    return this.redirected(await this.signed(session), redirectUrl);
  }

  /** 422 unless the redirect URL's origin is allow-listed, for other ways in that end as a link does (single sign-on). */
  assertRedirectAllowed(redirectUrl: string | undefined): void {
    this.links.assertRedirectAllowed(redirectUrl);
  }

  /**
   * Logs in a user another module vouched for (single sign-on), answering as a followed link
   * does: `authenticate` runs in the session's transaction and names the user.
   */
  async completeExternalLogin(
    action: string,
    redirectUrl: string | null,
    authenticate: () => Promise<{ userId: string; details: Record<string, unknown> }>,
  ): Promise<LinkOutcome> {
    const session = await this.db.transaction(async () => {
      const { userId, details } = await authenticate();
      return this.openSession(userId, action, details);
    });
    return this.redirected(await this.signed(session), redirectUrl);
  }

  /** Revokes the caller's login or admin session; admin sessions belong to no org, so theirs is a platform event. */
  async logout(principal: Principal): Promise<void> {
    const { sessionId } = principal;
    if (!sessionId) {
      throw new ConflictError('API keys have no session to log out of; revoke the key with DELETE /api/v1/api-keys/{id}.', 'NOT_A_SESSION');
    }
    await this.db.transaction(async () => {
      await this.sessions.revoke(sessionId);
      await this.audit.append({
        orgId: principal.orgId,
        actor: actorOf(principal),
        action: 'auth.logout',
        resourceType: 'session',
        resourceId: sessionId,
        outcome: 'success',
        ...currentRequestFacts(),
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
      const user = await this.users.find(principal.userId);
      if (user) body.user = user;
    }
    if (principal.apiKeyId) body.api_key = await this.apiKeys.summary(principal.apiKeyId);
    if (principal.adminEmail) body.admin = { email: principal.adminEmail };
    return body;
  }

  /**
   * Seed 003's profile: the logged-in user, the key's creator, or for a key no user created the
   * org's first owner; a platform admin has only an email.
   */
  async profile(principal: Principal): Promise<Me> {
    const { kind } = principal;
    if (kind !== 'user' && kind !== 'api_key' && kind !== 'admin_session') throw new UnauthorizedError();
    const creator = principal.userId ? await this.users.find(principal.userId) : undefined;
    const owner = !creator && kind === 'api_key' ? await this.users.findFirstOwner(principal.orgId!) : undefined;
    const user = creator ?? owner;
    const me: Me = {
      uuid: user?.id ?? null,
      email: user?.email ?? principal.adminEmail,
      firstname: user?.first_name ?? null,
      lastname: user?.last_name ?? null,
      user_source: creator
        ? kind === 'user'
          ? 'login'
          : 'key_creator'
        : owner
          ? 'org_owner'
          : principal.adminEmail
            ? 'platform_admin'
            : 'none',
      type: kind,
      permissions: [...principal.permissions].sort(),
    };
    if (principal.orgId) me.org = await this.orgs.get(principal.orgId);
    if (principal.apiKeyId) {
      const { id, name, prefix } = await this.apiKeys.summary(principal.apiKeyId);
      me.api_key = {
        id,
        name,
        prefix,
        device_binding_required: principal.device?.required ?? false,
        device_id: principal.device?.id ?? null,
      };
    }
    return me;
  }

  /**
   * An admin session for a platform admin who proved their email (call it inside the transaction
   * that records the login); its token is returned here and stored only as a digest.
   */
  async openAdminSession(adminEmail: string, expiresAt: Date): Promise<{ sessionId: string; token: string }> {
    const token = newSecret(ADMIN_SESSION_PREFIX);
    const sessionId = newId('ses');
    await this.sessions.insertAdminSession({
      id: sessionId,
      admin_email: adminEmail,
      token_digest: digestSecret(token),
      expires_at: expiresAt,
    });
    return { sessionId, token };
  }

  findAdminSession(tokenDigest: Buffer): Promise<AdminSessionCredential | undefined> {
    return this.sessions.findAdminSession(tokenDigest);
  }

  findUserSession(sessionId: string, userId: string): Promise<UserSessionCredential | undefined> {
    return this.sessions.findUserSession(sessionId, userId);
  }

  /**
   * A server-side session, inside the caller's transaction, with its audit event (the user's org,
   * by the user); logout revokes it, and with it the token.
   */
  private async openSession(userId: string, action: string, details: Record<string, unknown> = {}): Promise<OpenedSession> {
    const sessionId = newId('ses');
    // Whole seconds, so expires_at equals the token's exp claim.
    const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + this.loginTokens.ttlMinutes * 60_000);
    await this.sessions.insertUserSession({ id: sessionId, user_id: userId, expires_at: expiresAt });
    const user = await this.users.recordLogin(userId);
    await this.audit.append({
      orgId: user.org_id,
      actor: { type: 'user', id: userId },
      action,
      resourceType: 'session',
      resourceId: sessionId,
      outcome: 'success',
      ...currentRequestFacts(),
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
    const issued = await this.db.transaction(async () => {
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
      user: session.user,
    };
  }

  /** On to the redirect URL with the JWT in its fragment, where the browser keeps it from servers and logs; or the login itself. */
  private redirected(login: LoginResult, redirectUrl: string | null): LinkOutcome {
    if (!redirectUrl) return { redirectTo: null, login };
    const target = new URL(redirectUrl);
    target.hash = `token=${encodeURIComponent(login.token)}`;
    return { redirectTo: target.toString(), login };
  }

  /** The signup body minus its key, canonical (sorted keys), keyed by a per-database secret. */
  private async signupHmac(input: Signup): Promise<Buffer> {
    const { idempotency_key: _key, ...request } = input;
    const canonical = JSON.stringify(Object.fromEntries(Object.entries(request).sort(([a], [b]) => a.localeCompare(b))));
    return createHmac('sha256', await this.secrets.get('signup_idempotency_hmac'))
      .update(canonical)
      .digest();
  }
}
