import type { PlanName } from '../config/config';

/** Who is calling: resolved once per request by the authenticator, read by the gate and handlers. */
export interface Principal {
  kind: 'anonymous' | 'user' | 'api_key' | 'admin_session' | 'agent' | 'installation' | 'gateway_key';
  /** The caller's org; null for platform admins and anonymous callers. */
  orgId: string | null;
  plan: PlanName | null;
  /** The user behind a login, or the user who created the API key. */
  userId: string | null;
  apiKeyId: string | null;
  /** The login or admin session, which logout revokes. */
  sessionId: string | null;
  adminEmail: string | null;
  /** The agent behind an agent secret or an installation's runtime token. */
  agentId: string | null;
  installationId: string | null;
  /** Names of the roles the permissions come from. */
  roles: string[];
  permissions: ReadonlySet<string>;
  expiresAt: Date | null;
  /**
   * An API key's device binding: whether the key is bound to devices, and the one this request
   * named (null when it named none of them, which only a few operations answer).
   */
  device?: { required: boolean; id: string | null };
  /** An API key's own budget of requests per minute; null (or absent) for the configured default. */
  rateLimitPerMinute?: number | null;
  /** The gateway key a `gateway_key` caller presented, and the one vendor it opens (its agent is `agentId`). */
  gatewayKey?: { id: string; vendorId: string };
}

export const ANONYMOUS: Principal = Object.freeze({
  kind: 'anonymous',
  orgId: null,
  plan: null,
  userId: null,
  apiKeyId: null,
  sessionId: null,
  adminEmail: null,
  agentId: null,
  installationId: null,
  roles: [],
  permissions: new Set<string>(),
  expiresAt: null,
});
