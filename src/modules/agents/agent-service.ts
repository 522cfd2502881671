import { createHash } from 'node:crypto';
import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts } from '../../audit/audit-event';
import { noteBefore } from '../../audit/audited-change';
import { AGENT_SECRET_PREFIX } from '../../auth/authenticator';
import { digestSecret, newSecret } from '../../auth/credentials';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { AuditService } from '../audit';
import type { OrgService } from '../orgs';
import type { PolicyService } from '../policies';
import type { WorkspaceService } from '../workspaces';
import { assertKeyProof, decodeKey, keyProven, proofMessage } from './agent-keys';
import { type AgentRow, AgentStore, type NewAgentFields } from './agent-store';

type Agent = components['schemas']['Agent'];
type RegisterAgentInput = operations['registerAgent']['requestBody']['content']['application/json'];
type AgentKeyProof = components['schemas']['AgentKeyProof'];
type CreateAgentInput = operations['createAgent']['requestBody']['content']['application/json'];

/** OpenSSH-style fingerprint of a base64 Ed25519 public key: `SHA256:` + unpadded base64 of its digest. */
export function keyFingerprint(publicKey: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** A kill switch with `expires_at` lifts itself: the agent reads as active once it has passed. */
/**
 * When a kill ends, given the stop in force: a kill never shortens another (a timed one must not
 * quietly end an "until further notice"); the later end stands, and none outlasts any.
 */
function laterEnd(old: Pick<AgentRow, 'status' | 'disabled_until'>, until: string | null): string | null {
  if (effectiveStatus(old) !== 'disabled') return until;
  if (old.disabled_until === null || until === null) return null;
  return old.disabled_until.getTime() > Date.parse(until) ? old.disabled_until.toISOString() : until;
}

export function effectiveStatus(row: Pick<AgentRow, 'status' | 'disabled_until'>): Agent['status'] {
  return row.status === 'disabled' && row.disabled_until && row.disabled_until.getTime() <= Date.now() ? 'active' : row.status;
}

const toAgent = (row: AgentRow): Agent => {
  const status = effectiveStatus(row);
  return {
    id: row.id,
    org_id: row.org_id,
    workspace_id: row.workspace_id,
    sekuire_id: row.sekuire_id,
    did: row.sekuire_id ? `did:sekuire:${row.sekuire_id}` : null,
    name: row.name,
    version: row.version,
    public_key: row.public_key,
    key_proven_at: row.key_proven_at?.toISOString() ?? null,
    manifest_hash: row.manifest_hash,
    wire_public_key: row.wire_public_key,
    daily_budget: row.daily_budget === null ? null : Number(row.daily_budget),
    policy_ids: row.policy_ids,
    status,
    disabled_reason: status === 'disabled' ? row.disabled_reason : null,
    disabled_until: status === 'disabled' ? (row.disabled_until?.toISOString() ?? null) : null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    last_seen_at: row.last_seen_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
};

/** The partial unique index that lets one org at most hold a proven registration of a key. */
const PROVEN_KEY_INDEX = 'agents_proven_sekuire_id_idx';

const keyProvenElsewhere = () =>
  new ConflictError('Another org has already proven possession of this key; it belongs to that org.', 'KEY_PROVEN_ELSEWHERE');

const agentNotFound = (ref: string) => new NotFoundError(`No agent '${ref}' exists in this org.`, 'AGENT_NOT_FOUND');

export class AgentService {
  private readonly store: AgentStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope' | 'reserveQuota'>,
    private readonly workspaces: Pick<WorkspaceService, 'assertInOrg'>,
    private readonly audit: Pick<AuditService, 'append'>,
    private readonly policies: Pick<PolicyService, 'assertLive'>,
    /** The daily budget (US dollars) an agent minted without one starts with: its org's default, or none. */
    private readonly defaultBudget: (orgId: string) => Promise<number | null> = async () => null,
  ) {
    this.store = new AgentStore(db);
  }

  /**
   * Seed 000: the sekuire_id must be the SHA-256 of the key, so the id names one key. Anyone can
   * copy a public key, so the registration stays unproven (nothing vouches for it) until a
   * proof of possession, here or in proveKey. Until then other orgs may register the same key
   * without either learning of the other.
   */
  async register(principal: Principal, input: RegisterAgentInput): Promise<Agent> {
    const orgId = await this.orgs.scope(principal);
    const key = decodeKey(input.public_key, 'Ed25519', 'public_key');
    if (createHash('sha256').update(key).digest('hex') !== input.sekuire_id) {
      throw new ValidationError('sekuire_id must be the lowercase hex SHA-256 of the decoded public_key.', 'SEKUIRE_ID_MISMATCH', [
        { location: 'body', field: 'sekuire_id', message: 'does not match public_key', rule: 'sha256' },
      ]);
    }
    if (input.proof) assertKeyProof(orgId, input.sekuire_id, key, input.proof, 'proof.');
    return this.insert(orgId, input.workspace_id, {
      sekuire_id: input.sekuire_id,
      name: input.name,
      version: input.version ?? null,
      public_key: key.toString('base64'),
      key_proven_at: input.proof ? new Date() : null,
      manifest_hash: input.manifest_hash ?? null,
    });
  }

  /**
   * Proof of possession: from now on the key belongs to this org, and no other org's
   * registration of it can be proven. Only a caller who has just shown the key learns that
   * another org got there first.
   */
  async proveKey(principal: Principal, ref: string, proof: AgentKeyProof): Promise<Agent> {
    const orgId = await this.orgs.scope(principal);
    const agent = await this.row(orgId, ref);
    if (!agent.public_key || !agent.sekuire_id) {
      throw new ConflictError(
        'This agent has no registered key to prove; a minted agent authenticates with its secret.',
        'AGENT_HAS_NO_KEY',
      );
    }
    assertKeyProof(orgId, agent.sekuire_id, agent.public_key, proof);
    if (agent.key_proven_at) return toAgent(agent);
    try {
      return toAgent(await this.store.markKeyProven(agent.id));
    } catch (error) {
      if (isUniqueViolation(error)) throw keyProvenElsewhere();
      throw error;
    }
  }

  /** Seeds 001/002: an agent with an `sas_` secret, returned once. */
  async mint(principal: Principal, input: CreateAgentInput) {
    const orgId = await this.orgs.scope(principal, input.org_id);
    // Naming an agent's policies is setting them (PUT /agents/{id}/policies): minting may not be the way round policy.edit.
    if ((input.policy_ids?.length ?? 0) > 0 && !principal.permissions.has('policy.edit')) {
      throw new ForbiddenError("Naming an agent's policies needs the 'policy.edit' permission.", 'PERMISSION_DENIED');
    }
    const secret = newSecret(AGENT_SECRET_PREFIX);
    const agent = await this.insert(orgId, input.workspace_id, {
      name: input.name,
      daily_budget: input.daily_budget !== undefined ? input.daily_budget : await this.defaultBudget(orgId),
      policy_ids: input.policy_ids ?? [],
      secret_digest: digestSecret(secret),
    });
    return { ...agent, agent_secret: secret };
  }

  private async insert(orgId: string, workspaceId: string | undefined, fields: NewAgentFields): Promise<Agent> {
    return this.db.transaction(async () => {
      await this.orgs.reserveQuota(orgId, 'agents', () => this.store.countLive(orgId));
      if (workspaceId) await this.workspaces.assertInOrg(orgId, workspaceId);
      await this.policies.assertLive(orgId, fields.policy_ids ?? []);
      try {
        return toAgent(await this.store.insert({ id: newId('agt'), org_id: orgId, workspace_id: workspaceId ?? null, ...fields }));
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // The per-org index says "already here"; the proven-key index is hit only by a caller who just proved the key.
        if ((error as { driverError?: { constraint?: string } }).driverError?.constraint === PROVEN_KEY_INDEX) throw keyProvenElsewhere();
        throw new ConflictError('An agent with this sekuire_id is already registered in this org.', 'ALREADY_EXISTS');
      }
    });
  }

  async list(principal: Principal, query: { status?: Agent['status']; workspace_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(orgId, {
      status: query.status,
      workspaceId: query.workspace_id ?? null,
      beforeId: decodeCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = pageOf(rows, query.limit);
    return { agents: page.items.map(toAgent), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** The org's newest agents, at most `limit` (the state snapshot). */
  async inOrg(orgId: string, limit: number): Promise<Agent[]> {
    return (await this.store.list(orgId, { status: undefined, workspaceId: null, beforeId: null, limit })).map(toAgent);
  }

  async get(principal: Principal, ref: string): Promise<Agent> {
    return toAgent(await this.row(await this.orgs.scope(principal), ref));
  }

  /** A registered key counts only once proven; until then the answer carries the message to sign. */
  async verify(principal: Principal, ref: string) {
    const orgId = await this.orgs.scope(principal);
    const row = await this.row(orgId, ref);
    const agent = toAgent(row);
    const unproven = agent.sekuire_id !== null && !keyProven(row);
    return {
      valid: agent.status === 'active' && !unproven,
      sekuire_id: agent.sekuire_id,
      name: agent.name,
      version: agent.version,
      registered_at: agent.created_at,
      status: agent.status,
      key_proven_at: agent.key_proven_at,
      proof_message: unproven ? proofMessage(orgId, agent.sekuire_id!, new Date().toISOString()) : null,
    };
  }

  /** Permanent. Credentials are checked against the agent's status on every use, so none survives this commit. */
  async revoke(principal: Principal, ref: string): Promise<Agent> {
    const orgId = await this.orgs.scope(principal);
    const row = await this.store.revoke(orgId, ref);
    if (!row) throw agentNotFound(ref);
    return toAgent(row);
  }

  /** Seed 001 sends no body: a kill switch needs no reason. */
  async kill(principal: Principal, ref: string, input: { reason?: string; expires_at?: string } = {}): Promise<Agent> {
    if (input.expires_at && new Date(input.expires_at).getTime() <= Date.now()) {
      throw new ValidationError('expires_at must be in the future.', 'EXPIRY_OUT_OF_RANGE', [
        { location: 'body', field: 'expires_at', message: 'is not in the future', rule: 'range' },
      ]);
    }
    return this.setStatus(principal, ref, 'disabled', input.reason ?? null, input.expires_at ?? null);
  }

  async enable(principal: Principal, ref: string): Promise<Agent> {
    return this.setStatus(principal, ref, 'active', null, null);
  }

  private async setStatus(principal: Principal, ref: string, status: 'active' | 'disabled', reason: string | null, until: string | null) {
    const orgId = await this.orgs.scope(principal);
    const old = await this.store.lockStatus(orgId, ref);
    if (old) noteBefore({ ...old, disabled_until: old.disabled_until?.toISOString() ?? null });
    const end = status === 'disabled' && old ? laterEnd(old, until) : until;
    const row = await this.store.setStatus(orgId, ref, status, reason, end);
    if (row) return toAgent(row);
    await this.row(orgId, ref);
    throw new ConflictError('The agent is revoked; revocation is permanent.', 'AGENT_REVOKED');
  }

  /** Replaces the agent's policies; each must be a live policy of its org. */
  async setPolicies(principal: Principal, ref: string, policyIds: string[]): Promise<Agent> {
    const orgId = await this.orgs.scope(principal);
    await this.row(orgId, ref);
    return this.db.transaction(async () => {
      // Policies first, then the agent: the order a policy's deletion takes its locks in.
      await this.policies.assertLive(orgId, policyIds);
      const old = await this.store.lockPolicyIds(orgId, ref);
      if (!old) throw agentNotFound(ref);
      noteBefore({ policy_ids: old.policy_ids });
      return toAgent(await this.store.setPolicyIds(old.id, policyIds));
    });
  }

  /** Up to `limit` ids of the org's agents naming the policy, in id order. */
  idsNamingPolicy(orgId: string, policyId: string, limit: number): Promise<string[]> {
    return this.store.idsNamingPolicy(orgId, policyId, limit);
  }

  /** The org's agents stop naming the policy (it is being deleted). */
  forgetPolicy(orgId: string, policyId: string): Promise<void> {
    return this.store.forgetPolicy(orgId, policyId);
  }

  /** The agent's own routes: its secret works only for itself. */
  async setWireKey(principal: Principal, ref: string, publicKey: string): Promise<Agent> {
    await this.assertSelf(principal, ref);
    const key = decodeKey(publicKey, 'X25519', 'public_key');
    noteBefore((await this.store.lockWireKey(principal.agentId!)) ?? null);
    return toAgent(await this.store.setWireKey(principal.agentId!, key.toString('base64')));
  }

  /** Pings come every few seconds: only coming online (first ping, or first after a silence) is an audit event. */
  async heartbeat(principal: Principal, ref: string): Promise<void> {
    await this.assertSelf(principal, ref);
    await this.db.transaction(async () => {
      const agent = await this.store.recordSighting(principal.agentId!);
      if (!agent.came_online) return;
      await this.audit.append({
        orgId: agent.org_id,
        actor: actorOf(principal),
        workspaceId: agent.workspace_id,
        action: 'agent.online',
        resourceId: principal.agentId,
        outcome: 'success',
        ...currentRequestFacts(),
        details: { operation_id: 'recordAgentHeartbeat', previous_seen_at: agent.previous_seen_at?.toISOString() ?? null },
      });
    });
  }

  /** 403 unless the caller is the agent `ref` names (by id or sekuire_id): other modules' agent routes use it too. */
  async assertSelf(principal: Principal, ref: string): Promise<void> {
    const self = principal.agentId === ref || (!ref.startsWith('agt_') && (await this.store.isNamedBySekuireId(principal.agentId!, ref)));
    if (!self) throw new ForbiddenError("An agent secret works only on its own agent's routes.", 'NOT_THIS_AGENT');
  }

  /** The agent named by id or sekuire_id in the org, or 404. */
  async row(orgId: string, ref: string): Promise<AgentRow> {
    const row = await this.store.findByRef(orgId, ref);
    if (!row) throw agentNotFound(ref);
    return row;
  }

  /** The agent of the org with this sekuire_id, if any. */
  findBySekuireId(orgId: string, sekuireId: string): Promise<AgentRow | undefined> {
    return this.store.findBySekuireId(orgId, sekuireId);
  }

  /** Revoked, or disabled by a kill switch that has not expired. */
  isStopped(agentId: string): Promise<boolean> {
    return this.store.isStopped(agentId);
  }

  /** The agent holding the minted secret with this digest, and whether it is stopped. */
  findBySecretDigest(digest: Buffer): Promise<{ id: string; org_id: string; stopped: boolean } | undefined> {
    return this.store.findBySecretDigest(digest);
  }

  /** Up to `limit` ids of the agents in the workspace, in id order. */
  idsIn(workspaceId: string, limit: number): Promise<string[]> {
    return this.store.idsIn(workspaceId, limit);
  }

  deleteIn(workspaceId: string): Promise<void> {
    return this.store.deleteIn(workspaceId);
  }
}
