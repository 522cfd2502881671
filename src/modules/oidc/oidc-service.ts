import type { components } from '../../../generated/api';
import { currentRequestFacts } from '../../audit/audit-event';
import { digestSecret } from '../../auth/credentials';
import type { OidcConfig } from '../../config/config';
import type { Db } from '../../db/db';
import { ApiError, BadRequestError, ForbiddenError, NotFoundError } from '../../errors/api-error';
import type { OutboundHttp } from '../../outbound/outbound-http';
import type { AuditService } from '../audit';
import type { AuthService, LinkOutcome } from '../auth';
import type { UserService } from '../users';
import { type Claims, IdentityProvider } from './identity-provider';
import { OidcAttemptStore } from './oidc-attempt-store';

type OidcStatus = components['schemas']['OidcStatus'];
type OidcAuthorization = components['schemas']['OidcAuthorization'];
type BuiltInRoleName = components['schemas']['BuiltInRoleName'];

const ATTEMPT_TTL_MS = 10 * 60_000;
const START_PATH = '/api/v1/auth/oidc/start';
/** The strongest role first: a user whose claims map to several gets the strongest. */
const ROLE_STRENGTH: readonly BuiltInRoleName[] = ['owner', 'admin', 'member', 'viewer'];

/** A claim's values as strings: providers send groups as an array, a tenant as a string. */
function claimValues(claims: Claims, name: string | undefined): string[] {
  const value = name === undefined ? undefined : claims[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * OIDC single sign-on: starts a sign-in (authorization code flow with PKCE, state and nonce kept
 * server-side, single-use), and finishes it by finding or provisioning the user the provider
 * vouches for and opening the same session a magic link opens.
 */
export class OidcService {
  private readonly attempts: OidcAttemptStore;
  private readonly provider: IdentityProvider | undefined;

  constructor(
    db: Db,
    private readonly config: OidcConfig | undefined,
    outbound: OutboundHttp,
    outboundTimeoutMs: number,
    private readonly auth: Pick<AuthService, 'assertRedirectAllowed' | 'completeExternalLogin'>,
    private readonly users: Pick<UserService, 'findLogin' | 'provision' | 'markEmailVerified' | 'updateNames'>,
    private readonly audit: Pick<AuditService, 'append' | 'record'>,
  ) {
    this.attempts = new OidcAttemptStore(db);
    this.provider = config && new IdentityProvider(config, outbound, outboundTimeoutMs);
  }

  status(): OidcStatus {
    return this.config ? { enabled: true, start_url: START_PATH } : { enabled: false, start_url: null };
  }

  /** The provider's authorization URL for a new attempt, stored (its secrets) until its callback or 10 minutes. */
  async start(redirectUrl: string | undefined): Promise<OidcAuthorization> {
    const provider = this.configured();
    this.auth.assertRedirectAllowed(redirectUrl);
    const { url, secrets } = await provider.authorizationUrl();
    const expiresAt = new Date(Date.now() + ATTEMPT_TTL_MS);
    await this.attempts.insert({
      state_digest: digestSecret(secrets.state),
      nonce: secrets.nonce,
      code_verifier: secrets.codeVerifier,
      redirect_url: redirectUrl ?? null,
      expires_at: expiresAt,
    });
    return { authorization_url: url.toString(), expires_at: expiresAt.toISOString() };
  }

  /** Finishes the attempt `state` names, once; a refusal is recorded, then thrown. */
  async complete(query: Record<string, string>): Promise<LinkOutcome> {
    const provider = this.configured();
    let email: string | undefined;
    try {
      const state = query.state;
      if (!state) throw new BadRequestError('The callback carries no state; start signing in again.', 'OIDC_STATE_INVALID');
      const attempt = await this.consume(state);
      const claims = await provider.exchange(query, { state, nonce: attempt.nonce, codeVerifier: attempt.code_verifier });
      email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
      const vouched = this.vouchedEmail(claims, email);
      return await this.auth.completeExternalLogin('auth.oidc_login', attempt.redirect_url, () => this.signIn(claims, vouched));
    } catch (error) {
      if (error instanceof ApiError) await this.recordRefusal(error, email);
      throw error;
    }
  }

  private configured(): IdentityProvider {
    if (!this.provider) throw new NotFoundError('Single sign-on is not configured on this Warden.', 'OIDC_NOT_CONFIGURED');
    return this.provider;
  }

  /** The attempt's secrets, once: a second callback with the same state (a replayed code) is refused before the provider is asked. */
  private async consume(state: string) {
    const digest = digestSecret(state);
    const attempt = await this.attempts.consume(digest);
    if (attempt) return attempt;
    const known = await this.attempts.find(digest);
    if (!known) throw new BadRequestError('This sign-in attempt is not one Warden started; start again.', 'OIDC_STATE_INVALID');
    if (known.consumed_at) throw new BadRequestError('This sign-in attempt has already been used; start again.', 'OIDC_STATE_USED');
    throw new BadRequestError('This sign-in attempt has expired; start again.', 'OIDC_STATE_EXPIRED');
  }

  /** The email, when the provider says it verified it and its domain may sign in; 403 otherwise. */
  private vouchedEmail(claims: Claims, email: string | undefined): string {
    // Some providers (Amazon Cognito) send the boolean as a string.
    const verified = claims.email_verified === true || claims.email_verified === 'true';
    if (!email || !verified) {
      throw new ForbiddenError(
        'The identity provider has not verified your email address, so Warden cannot sign you in.',
        'OIDC_EMAIL_UNVERIFIED',
      );
    }
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const allowed = this.config!.allowedEmailDomains;
    if (!allowed.includes('*') && !allowed.includes(domain)) {
      throw new ForbiddenError(`Sign-in with an email at ${domain} is not allowed here.`, 'OIDC_EMAIL_DOMAIN_NOT_ALLOWED');
    }
    return email;
  }

  /**
   * In the session's transaction: the user with this email (their org, their role), or a new
   * one in the org and role the claims map to. Either way the provider vouched for the email.
   */
  private async signIn(claims: Claims, email: string): Promise<{ userId: string; details: Record<string, unknown> }> {
    const details = { issuer: this.config!.issuer, subject: claims.sub };
    const names = namesOf(claims);
    const existing = await this.users.findLogin(email);
    if (existing) {
      await this.users.markEmailVerified(existing.user.id);
      const changed = await this.users.updateNames(existing.user.id, names);
      return { userId: existing.user.id, details: { ...details, provisioned: false, ...(changed && { names_updated: changed }) } };
    }
    const orgId = this.orgFor(claims);
    const role = this.roleFor(claims);
    const { user, created } = await this.users.provision(orgId, email, role, names).catch((error: unknown) => {
      if (error instanceof ApiError && error.code === 'ORG_NOT_FOUND') throw noOrg(`the org ${orgId} it maps to does not exist`);
      throw error;
    });
    if (created) {
      await this.audit.append({
        orgId,
        actor: { type: 'user', id: user.id },
        action: 'auth.oidc_user_provisioned',
        resourceType: 'user',
        resourceId: user.id,
        outcome: 'success',
        ...currentRequestFacts(),
        details: { ...details, role },
      });
    }
    return { userId: user.id, details: { ...details, provisioned: created } };
  }

  private orgFor(claims: Claims): string {
    const { orgClaim, orgMap, defaultOrg } = this.config!;
    const mapped = claimValues(claims, orgClaim).find((value) => Object.hasOwn(orgMap, value));
    const orgId = mapped === undefined ? defaultOrg : orgMap[mapped];
    if (orgId === undefined) throw noOrg('your claims map to no org and no default org is configured');
    return orgId;
  }

  private roleFor(claims: Claims): BuiltInRoleName {
    const { roleClaim, roleMap, defaultRole } = this.config!;
    const mapped = claimValues(claims, roleClaim).flatMap((value) => (Object.hasOwn(roleMap, value) ? [roleMap[value]!] : []));
    return ROLE_STRENGTH.find((role) => mapped.includes(role)) ?? defaultRole;
  }

  /** A refused callback is a security event: in the org of the user the email names, else in the platform chain. */
  private async recordRefusal(error: ApiError, email: string | undefined): Promise<void> {
    const user = email === undefined ? undefined : (await this.users.findLogin(email))?.user;
    await this.audit.record({
      orgId: user?.org_id ?? null,
      actor: { type: 'anonymous', id: email ?? null },
      action: 'auth.oidc_login_failed',
      resourceType: 'user',
      resourceId: user?.id ?? null,
      outcome: 'failure',
      ...currentRequestFacts(),
      details: { issuer: this.config!.issuer, code: error.code },
    });
  }
}

/** Users' names are at most this long (the User schema's maxLength); a longer claim is cut, not refused. */
const MAX_NAME_LENGTH = 100;

/** A claim as a name: trimmed, cut to the schema's length (by code point), undefined when absent or blank. */
function nameClaim(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.replace(/\s+/g, ' ').trim();
  return trimmed === '' ? undefined : [...trimmed].slice(0, MAX_NAME_LENGTH).join('').trim();
}

/**
 * The first and last names the provider vouches for: `given_name` and `family_name` (OIDC Core
 * §5.1), else `name` split at its first space (the rest is the last name). A name the claims do not
 * carry is undefined, so it is left as it is.
 */
function namesOf(claims: Claims): { first_name?: string; last_name?: string } {
  const given = nameClaim(claims.given_name);
  const family = nameClaim(claims.family_name);
  if (given !== undefined || family !== undefined) return { first_name: given, last_name: family };
  const full = nameClaim(claims.name);
  if (full === undefined) return {};
  const space = full.indexOf(' ');
  return space < 0 ? { first_name: full } : { first_name: full.slice(0, space), last_name: full.slice(space + 1) };
}

function noOrg(why: string): ForbiddenError {
  return new ForbiddenError(`Warden cannot create your account: ${why}. Ask an administrator to invite you.`, 'OIDC_NO_ORG');
}
