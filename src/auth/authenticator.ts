import type { Request } from 'express';
import type { BoundOperation } from '../binding/operation-table';
import type { PlanName } from '../config/config';
import { BadRequestError, ForbiddenError, UnauthorizedError } from '../errors/api-error';
import { digestSecret, isWellFormedSecret } from './credentials';
import { LoginTokenError, type LoginTokens } from './login-tokens';
import { ALL_PERMISSIONS, builtInRole, type RoleAssignment, rolesAndPermissions } from './permissions';
import type { Principal } from './principal';

/** Agent secrets and runtime tokens are checked by the agents module, which owns their tables. */
export interface AgentCredentials {
  authenticateAgent(secret: string): Promise<Principal>;
  authenticateInstallation(runtimeToken: string): Promise<Principal>;
}

/** An API key found by the digest of one of its secrets, with its creator's roles as they are now. */
export interface ApiKeyCredential {
  id: string;
  org_id: string;
  created_by: string | null;
  permissions: string[];
  expires_at: Date;
  revoked_at: Date | null;
  /** When the secret used stops working (it was rolled); null while it is the current one. */
  retires_at: Date | null;
  last_used_at: Date | null;
  /** The key's own budget of requests per minute; null for the configured default. */
  rate_limit_per_minute: number | null;
  plan: PlanName;
  /** The creator's built-in role; null when the key has no creator, or its creator is gone. */
  creator_role: string | null;
  creator_assigned: RoleAssignment[];
  /** Whether the key is bound to any device; then each request must name one in `X-Warden-Device`. */
  device_bound: boolean;
  /** The key's device the request names, and when it was last seen; null when it names none of them. */
  device_id: string | null;
  device_seen_at: Date | null;
}

/** API keys are looked up by the api-keys module, which owns their tables: one statement per authentication. */
export interface ApiKeyCredentials {
  findCredential(secretDigest: Buffer, deviceFingerprint: string | null): Promise<ApiKeyCredential | undefined>;
  markUsed(keyId: string): Promise<void>;
  markDeviceSeen(deviceId: string): Promise<void>;
}

export interface AdminSessionCredential {
  id: string;
  admin_email: string;
  expires_at: Date;
  revoked_at: Date | null;
}

/** A user's login session, with the user's org, plan and roles as they are now. */
export interface UserSessionCredential {
  expires_at: Date;
  revoked_at: Date | null;
  org_id: string;
  plan: PlanName;
  role: string;
  assigned: RoleAssignment[];
}

/** Sessions are looked up by the auth module, which owns them: one statement per authentication. */
export interface SessionCredentials {
  findAdminSession(tokenDigest: Buffer): Promise<AdminSessionCredential | undefined>;
  findUserSession(sessionId: string, userId: string): Promise<UserSessionCredential | undefined>;
}

/**
 * Gateway keys are looked up by the gateway-keys module, which owns their table. It is told the
 * operation: on the governed ones (the gateway, decisions), whose every call re-checks the key's
 * standing in its own statement, it may answer from memory.
 */
export interface GatewayKeyCredentials {
  authenticateGatewayKey(secret: string, operationId: string): Promise<Principal>;
}

export const API_KEY_PREFIXES = ['sk_live', 'sk_test'] as const;
export const ADMIN_SESSION_PREFIX = 'adm';
export const AGENT_SECRET_PREFIX = 'sas';
export const RUNTIME_TOKEN_PREFIX = 'srt';
export const GATEWAY_KEY_PREFIX = 'sgk';

type CredentialKind = 'api_key' | 'admin_session' | 'login_jwt' | 'agent_secret' | 'runtime_token' | 'gateway_key';

/** Which credentials each security scheme of the spec accepts. */
const ACCEPTED_BY_SCHEME: Record<string, CredentialKind[]> = {
  ApiKeyAuth: ['api_key'],
  BearerAuth: ['api_key', 'admin_session', 'login_jwt'],
  SecuAdminToken: ['admin_session'],
  AgentSecret: ['agent_secret'],
  RuntimeToken: ['runtime_token'],
  GatewayKey: ['gateway_key'],
};
const NOT_ACCEPTED: Record<CredentialKind, string> = {
  api_key: 'An API key does not work on this operation.',
  admin_session: 'An admin session does not work on this operation.',
  login_jwt: 'A login token does not work on this operation.',
  agent_secret: "An agent secret works only on its own agent's routes (public key, heartbeat).",
  runtime_token: "A runtime token works only on its own installation's lease.",
  gateway_key: "A gateway key works only on the gateway's operations, for its own agent and vendor.",
};
const RETIRING_SECRET_LOSES = 'api_key.edit';
/** A key's `last_used_at` (and its device's `last_seen_at`) is written at most this often, so a busy key costs no write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * The operations a key answers from a device it is not bound to: who am I, and binding the key to
 * the device it is used from. That is `warden login` on a new machine (seed 004's re-verification);
 * anything else from an unbound device is 401 DEVICE_NOT_BOUND.
 */
const ANSWERED_FROM_UNBOUND_DEVICES = new Set(['getMe', 'getCurrentPrincipal', 'bindApiKeyDevice']);
const DEVICE_FINGERPRINT = /^[0-9a-f]{64}$/;
const OWNER_PERMISSION_SET: ReadonlySet<string> = new Set(builtInRole('owner')!.permissions);

const missing = () =>
  new UnauthorizedError('No credential: send an API key as X-API-Key, or a bearer token as Authorization: Bearer.', 'CREDENTIAL_MISSING');
const malformed = () =>
  new UnauthorizedError('The credential is not a well-formed Warden API key, admin session token or login JWT.', 'CREDENTIAL_MALFORMED');
const invalid = () => new UnauthorizedError('The credential is not valid.', 'CREDENTIAL_INVALID');
const expired = () => new UnauthorizedError('The credential has expired.', 'CREDENTIAL_EXPIRED');
const revoked = () => new UnauthorizedError('The credential has been revoked.', 'CREDENTIAL_REVOKED');
export const deviceNotBound = () =>
  new UnauthorizedError(
    'This API key is bound to other devices: run `warden login` again on this device to bind it ' +
      '(or send X-Warden-Device naming a bound one).',
    'DEVICE_NOT_BOUND',
  );
const creatorGone = () =>
  new UnauthorizedError('The user who created this API key no longer exists, so the key no longer works.', 'CREDENTIAL_REVOKED');

/**
 * Turns the request's credential into a Principal, or refuses with 401. Accepted: an API key
 * as `X-API-Key` or `Authorization: Bearer`, an admin session token (`adm_…`) and a login JWT
 * as bearer. Secrets are looked up by SHA-256 digest, so no secret is compared in Node; the
 * checksum suffix turns typos and made-up keys away without touching the database.
 */
export class Authenticator {
  constructor(
    private readonly loginTokens: LoginTokens,
    private readonly agents: AgentCredentials,
    private readonly apiKeys: ApiKeyCredentials,
    private readonly sessions: SessionCredentials,
    private readonly gatewayKeys: GatewayKeyCredentials,
  ) {}

  /**
   * The credential must be of a kind one of the operation's security schemes accepts: an agent
   * secret or a runtime token on a management route is 403, whatever it could do elsewhere.
   */
  async authenticate(req: Request, operation: BoundOperation): Promise<Principal> {
    const credential = credentialOf(req);
    const kind = kindOf(credential);
    if (!kind) throw malformed();
    const accepted = operation.security.some((requirement) =>
      Object.keys(requirement).some((scheme) => ACCEPTED_BY_SCHEME[scheme]?.includes(kind)),
    );
    if (!accepted) throw new ForbiddenError(NOT_ACCEPTED[kind], 'CREDENTIAL_NOT_ACCEPTED');
    switch (kind) {
      case 'api_key':
        return this.apiKey(credential, req, operation);
      case 'admin_session':
        return this.adminSession(credential);
      case 'login_jwt':
        return this.loginToken(req, credential);
      case 'agent_secret':
        return this.agents.authenticateAgent(credential);
      case 'runtime_token':
        return this.agents.authenticateInstallation(credential);
      case 'gateway_key':
        return this.gatewayKeys.authenticateGatewayKey(credential, operation.operationId);
    }
  }

  /**
   * A key holds its own permissions only while its creator does: it acts with the intersection
   * of its list and the creating user's current roles (read in the same statement), and stops
   * working when that user is gone. Keys made with no creating user (first start, the admin
   * script) are bounded by the owner role.
   */
  private async apiKey(secret: string, req: Request, operation: BoundOperation): Promise<Principal> {
    if (!API_KEY_PREFIXES.some((prefix) => isWellFormedSecret(secret, prefix))) throw malformed();
    const key = await this.apiKeys.findCredential(digestSecret(secret), deviceOf(req));
    if (!key) throw invalid();
    const now = Date.now();
    if (key.revoked_at) throw revoked();
    if (key.created_by !== null && key.creator_role === null) throw creatorGone();
    if (key.expires_at.getTime() <= now || (key.retires_at && key.retires_at.getTime() <= now)) throw expired();
    const unboundDevice = key.device_bound && key.device_id === null;
    if (unboundDevice && !ANSWERED_FROM_UNBOUND_DEVICES.has(operation.operationId)) throw deviceNotBound();
    const stale = (at: Date | null) => !at || now - at.getTime() > LAST_USED_RESOLUTION_MS;
    if (stale(key.last_used_at)) await this.apiKeys.markUsed(key.id);
    if (key.device_id && stale(key.device_seen_at)) await this.apiKeys.markDeviceSeen(key.device_id);
    const bound =
      key.creator_role === null ? OWNER_PERMISSION_SET : rolesAndPermissions(key.creator_role, key.creator_assigned).permissions;
    return {
      kind: 'api_key',
      orgId: key.org_id,
      plan: key.plan,
      userId: key.created_by,
      apiKeyId: key.id,
      sessionId: null,
      adminEmail: null,
      agentId: null,
      installationId: null,
      roles: [],
      // A secret in its grace period after a roll is on its way out: it keeps working, but cannot
      // manage keys, or whoever holds a leaked old secret could roll again and lock out the new one.
      permissions: new Set(
        key.permissions.filter((permission) => bound.has(permission) && !(key.retires_at && permission === RETIRING_SECRET_LOSES)),
      ),
      expiresAt: key.retires_at && key.retires_at < key.expires_at ? key.retires_at : key.expires_at,
      device: { required: key.device_bound, id: key.device_id },
      rateLimitPerMinute: key.rate_limit_per_minute,
    };
  }

  private async adminSession(token: string): Promise<Principal> {
    if (!isWellFormedSecret(token, ADMIN_SESSION_PREFIX)) throw malformed();
    const session = await this.sessions.findAdminSession(digestSecret(token));
    if (!session) throw invalid();
    if (session.revoked_at) throw revoked();
    if (session.expires_at.getTime() <= Date.now()) throw expired();
    return {
      kind: 'admin_session',
      orgId: null,
      plan: null,
      userId: null,
      apiKeyId: null,
      sessionId: session.id,
      adminEmail: session.admin_email,
      agentId: null,
      installationId: null,
      roles: ['platform_admin'],
      permissions: ALL_PERMISSIONS,
      expiresAt: session.expires_at,
    };
  }

  private async loginToken(req: Request, token: string): Promise<Principal> {
    let claims: Awaited<ReturnType<LoginTokens['verify']>>;
    try {
      claims = await this.loginTokens.verify(req, token);
    } catch (error) {
      if (error instanceof LoginTokenError) throw error.reason === 'expired' ? expired() : invalid();
      throw error;
    }
    const session = await this.sessions.findUserSession(claims.sid, claims.sub);
    if (!session) throw invalid();
    if (session.revoked_at) throw revoked();
    if (session.expires_at.getTime() <= Date.now()) throw expired();
    return {
      kind: 'user',
      orgId: session.org_id,
      plan: session.plan,
      userId: claims.sub,
      apiKeyId: null,
      sessionId: claims.sid,
      adminEmail: null,
      agentId: null,
      installationId: null,
      ...rolesAndPermissions(session.role, session.assigned),
      expiresAt: session.expires_at,
    };
  }
}

function kindOf(credential: string): CredentialKind | undefined {
  if (API_KEY_PREFIXES.some((prefix) => credential.startsWith(`${prefix}_`))) return 'api_key';
  if (credential.startsWith(`${ADMIN_SESSION_PREFIX}_`)) return 'admin_session';
  if (credential.startsWith(`${AGENT_SECRET_PREFIX}_`)) return 'agent_secret';
  if (credential.startsWith(`${RUNTIME_TOKEN_PREFIX}_`)) return 'runtime_token';
  if (credential.startsWith(`${GATEWAY_KEY_PREFIX}_`)) return 'gateway_key';
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential)) return 'login_jwt';
  return undefined;
}

/** The device fingerprint the request names; anything but 64 hex characters names no device. */
function deviceOf(req: Request): string | null {
  const header = req.headers['x-warden-device'];
  if (typeof header !== 'string') return null;
  const fingerprint = header.trim().toLowerCase();
  return DEVICE_FINGERPRINT.test(fingerprint) ? fingerprint : null;
}

/**
 * The one credential the request presents. X-Secu-Admin-Token promises an admin session, so
 * anything else in it is 401 whatever else is sent; and an API key, admin token and bearer token
 * that differ are 400, since answering as one of them may act for an org the caller did not mean.
 * The agent secret keeps precedence alone: agent routes legitimately carry other headers.
 */
function credentialOf(req: Request): string {
  const agentSecret = headerOf(req, 'x-agent-secret');
  if (agentSecret !== undefined) return agentSecret;
  // Seed 001's header for the platform admin's session, the same token `Authorization: Bearer` carries.
  const adminToken = headerOf(req, 'x-secu-admin-token');
  if (adminToken !== undefined && !isWellFormedSecret(adminToken, ADMIN_SESSION_PREFIX)) throw malformed();
  const apiKey = headerOf(req, 'x-api-key');
  const authorization = headerOf(req, 'authorization');
  const bearer = authorization === undefined ? undefined : /^Bearer +(\S+)$/i.exec(authorization)?.[1];
  const presented = new Set([apiKey, adminToken, bearer].filter((credential) => credential !== undefined));
  if (presented.size > 1) {
    throw new BadRequestError('The request presents two different credentials; send only one.', 'CREDENTIALS_CONFLICT');
  }
  const [credential] = presented;
  if (credential !== undefined) return credential;
  if (authorization === undefined) throw missing();
  throw malformed();
}

function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
