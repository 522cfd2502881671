import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import { GATEWAY_KEY_PREFIX, type GatewayKeyCredentials } from '../../auth/authenticator';
import { digestSecret, isWellFormedSecret, newSecret } from '../../auth/credentials';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../../errors/api-error';
import { ExpiringCache } from '../../lib/expiring-cache';
import type { AgentService } from '../agents';
import type { OrgService } from '../orgs';
import type { VendorService } from '../vendors';
import { type GatewayKeyCredentialRow, type GatewayKeyRow, GatewayKeyStore } from './gateway-key-store';

type GatewayKey = components['schemas']['GatewayKey'];
type GatewayKeyWithSecret = components['schemas']['GatewayKeyWithSecret'];
type CreateGatewayKeyInput = operations['createGatewayKey']['requestBody']['content']['application/json'];

/** Who is calling through the gateway: the key, its org, its agent and the one vendor it opens. */
export interface GatewayCaller {
  keyId: string;
  orgId: string;
  agentId: string;
  vendorId: string;
}

const PREFIX_LENGTH = GATEWAY_KEY_PREFIX.length + 5;
const NO_PERMISSIONS: ReadonlySet<string> = new Set();

const toGatewayKey = (row: GatewayKeyRow): GatewayKey => ({
  id: row.id,
  org_id: row.org_id,
  agent_id: row.agent_id,
  vendor_id: row.vendor_id,
  prefix: row.prefix,
  last_four: row.last_four,
  created_at: row.created_at.toISOString(),
  revoked_at: row.revoked_at?.toISOString() ?? null,
});

/** Keys that worked when last read: at most this many, each for at most this long. */
const CACHED_KEYS = 10_000;
const CACHE_TTL_MS = 60_000;

/** The operations whose every call checks the key's standing again (DecisionService): they may use a remembered key. */
const GOVERNED_OPERATIONS: ReadonlySet<string> = new Set([
  'gatewayGet',
  'gatewayPost',
  'gatewayPut',
  'gatewayPatch',
  'gatewayDelete',
  'createDecision',
]);

/** The caller a found key names, or the refusal a key that does not work gets. */
function callerOf(key: GatewayKeyCredentialRow | undefined): GatewayCaller {
  if (!key) throw new UnauthorizedError('The credential is not valid.', 'CREDENTIAL_INVALID');
  if (key.revoked) throw new UnauthorizedError('The gateway key has been revoked.', 'CREDENTIAL_REVOKED');
  if (key.agent_stopped) {
    throw new ForbiddenError("The gateway key's agent is disabled by the kill switch or revoked.", 'GATEWAY_KEY_AGENT_STOPPED');
  }
  if (key.vendor_deleted) throw new ForbiddenError("The gateway key's vendor has been deleted.", 'GATEWAY_KEY_VENDOR_DELETED');
  return { keyId: key.id, orgId: key.org_id, agentId: key.agent_id, vendorId: key.vendor_id };
}

const keyNotFound = (id: string) => new NotFoundError(`No gateway key '${id}' exists in this org.`, 'GATEWAY_KEY_NOT_FOUND');

/**
 * Gateway keys (`sgk_…`): each binds one agent to one vendor, is shown once and kept only as a
 * SHA-256 digest. It works while it is unrevoked, its agent is neither revoked nor disabled, and
 * its vendor is not deleted, all read in the one statement that finds it.
 */
export class GatewayKeyService implements GatewayKeyCredentials {
  private readonly store: GatewayKeyStore;
  /** Working keys by the digest of their secret. */
  private readonly working = new ExpiringCache<string, GatewayCaller>(CACHED_KEYS, CACHE_TTL_MS);

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'row'>,
    private readonly vendors: Pick<VendorService, 'assertInOrg'>,
  ) {
    this.store = new GatewayKeyStore(db);
  }

  /** A disabled agent may get keys (they work once its kill switch lifts); a revoked one never will. */
  async create(principal: Principal, input: CreateGatewayKeyInput): Promise<GatewayKeyWithSecret> {
    const orgId = await this.orgs.scope(principal);
    const agent = await this.agents.row(orgId, input.agent_id);
    if (agent.status === 'revoked') throw new ConflictError('The agent is revoked; revocation is permanent.', 'AGENT_REVOKED');
    await this.vendors.assertInOrg(orgId, input.vendor_id);
    const secret = newSecret(GATEWAY_KEY_PREFIX);
    const row = await this.store.insert({
      id: newId('gwk'),
      org_id: orgId,
      agent_id: agent.id,
      vendor_id: input.vendor_id,
      secret_digest: digestSecret(secret),
      prefix: secret.slice(0, PREFIX_LENGTH),
      last_four: secret.slice(-4),
    });
    return { ...toGatewayKey(row), key: secret };
  }

  async list(principal: Principal, query: { agent_id?: string; vendor_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(orgId, {
      agentId: query.agent_id ?? null,
      vendorId: query.vendor_id ?? null,
      beforeId: decodeCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = pageOf(rows, query.limit);
    return { keys: page.items.map(toGatewayKey), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** The org's newest gateway keys, at most `limit`, by prefix and last four (the state snapshot). */
  async inOrg(orgId: string, limit: number): Promise<GatewayKey[]> {
    return (await this.store.list(orgId, { agentId: null, vendorId: null, beforeId: null, limit })).map(toGatewayKey);
  }

  /** Idempotent: revoking a revoked key answers it as it is. */
  async revoke(principal: Principal, id: string): Promise<GatewayKey> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.store.find(orgId, id, true);
    if (!old) throw keyNotFound(id);
    noteBefore({ revoked_at: old.revoked_at?.toISOString() ?? null });
    return toGatewayKey((await this.store.revoke(orgId, id))!);
  }

  /** The key a gateway-key caller presented. */
  async current(principal: Principal): Promise<GatewayKey> {
    const row = principal.gatewayKey && principal.orgId ? await this.store.find(principal.orgId, principal.gatewayKey.id) : undefined;
    if (!row) throw new UnauthorizedError('The credential is not valid.', 'CREDENTIAL_INVALID');
    return toGatewayKey(row);
  }

  /**
   * 401 for a malformed, unknown or revoked key; 403 while its agent is stopped or once its
   * vendor is deleted (the key itself is fine, what it opens is not). With `fromMemory`, a key
   * that worked is answered from memory (what it names never changes): only for callers that
   * verify the key's standing in their own statement and call `assertLive` when it no longer
   * stands (the decisions module's governed calls).
   */
  async authenticate(secret: string, fromMemory = false): Promise<GatewayCaller> {
    if (!isWellFormedSecret(secret, GATEWAY_KEY_PREFIX)) {
      throw new UnauthorizedError('The credential is not a well-formed Warden gateway key.', 'CREDENTIAL_MALFORMED');
    }
    const digest = digestSecret(secret);
    const cacheKey = digest.toString('base64');
    const cached = fromMemory ? this.working.get(cacheKey) : undefined;
    if (cached) return cached;
    const caller = callerOf(await this.store.findCredential(digest));
    if (!this.db.inTransaction) this.working.set(cacheKey, caller);
    return caller;
  }

  /** Throws as `authenticate` would unless the key still works; a key that does not is forgotten. */
  async assertLive(keyId: string): Promise<void> {
    try {
      callerOf(await this.store.findCredentialById(keyId));
    } catch (error) {
      this.working.deleteWhere((caller) => caller.keyId === keyId);
      throw error;
    }
  }

  /** The Authenticator's view: a principal with no permissions, carrying the key, its agent and its vendor. */
  async authenticateGatewayKey(secret: string, operationId: string): Promise<Principal> {
    const caller = await this.authenticate(secret, GOVERNED_OPERATIONS.has(operationId));
    return {
      kind: 'gateway_key',
      orgId: caller.orgId,
      plan: null,
      userId: null,
      apiKeyId: null,
      sessionId: null,
      adminEmail: null,
      agentId: caller.agentId,
      installationId: null,
      roles: [],
      permissions: NO_PERMISSIONS,
      expiresAt: null,
      gatewayKey: { id: caller.keyId, vendorId: caller.vendorId },
    };
  }
}
