import type { Db } from '../../db/db';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import { digestSecret, newSecret } from '../../auth/credentials';
import { AGENT_SECRET_PREFIX } from '../../auth/authenticator';
import type { Principal } from '../../auth/principal';
import type { RequestBody } from '../../binding/handler-types';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import { assertWorkspaceInOrg } from '../workspaces';
import { noteBefore } from '../../audit/audited-change';
import { type AuditService } from '../audit';
import { actorOf, type RequestFacts } from '../../audit/audit-event';
import { assertKeyProof, decodeKey, keyProven, proofMessage } from './agent-keys';

type Agent = components['schemas']['Agent'];
export interface AgentRow {
  id: string;
  org_id: string;
  workspace_id: string | null;
  sekuire_id: string | null;
  name: string;
  version: string | null;
  public_key: string | null;
  key_proven_at: Date | null;
  manifest_hash: string | null;
  wire_public_key: string | null;
  daily_budget: string | null;
  policy_ids: string[];
  status: Agent['status'];
  disabled_reason: string | null;
  disabled_until: Date | null;
  revoked_at: Date | null;
  last_seen_at: Date | null;
  created_at: Date;
  /** Whether a minted secret was issued (the digest itself never leaves the store). */
  has_secret: boolean;
}

const AGENT_COLUMNS = `id, org_id, workspace_id, sekuire_id, name, version, public_key, key_proven_at, manifest_hash, wire_public_key, daily_budget,
  policy_ids, status, disabled_reason, disabled_until, revoked_at, last_seen_at, created_at, secret_digest IS NOT NULL AS has_secret`;

/** OpenSSH-style fingerprint of a base64 Ed25519 public key: `SHA256:` + unpadded base64 of its digest. */
export function keyFingerprint(publicKey: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** SQL: the agent `a` is revoked, or disabled by a kill switch that has not expired. */
export const AGENT_STOPPED_SQL = `(a.status = 'revoked' OR (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now())))`;

/** A kill switch with `expires_at` lifts itself: the agent reads as active once it has passed. */
export function effectiveStatus(row: Pick<AgentRow, 'status' | 'disabled_until'>): Agent['status'] {
  return row.status === 'disabled' && row.disabled_until && row.disabled_until.getTime() <= Date.now() ? 'active' : row.status;
}

export const toAgent = (row: AgentRow): Agent => {
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
/** Silence after which the next heartbeat counts as the agent coming (back) online. */
const OFFLINE_AFTER_MINUTES = 15;

const keyProvenElsewhere = () =>
  new ConflictError('Another org has already proven possession of this key; it belongs to that org.', 'KEY_PROVEN_ELSEWHERE');

export const agentNotFound = (ref: string) => new NotFoundError(`No agent '${ref}' exists in this org.`, 'AGENT_NOT_FOUND');

/** `agt_…` ids and 64-hex sekuire_ids both name an agent. */
export const agentRefColumn = (ref: string) => (ref.startsWith('agt_') ? 'id' : 'sekuire_id');

export class AgentService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrgService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Seed 000: the sekuire_id must be the SHA-256 of the key, so the id names one key. Anyone can
   * copy a public key, so the registration stays unproven (nothing vouches for it) until a
   * proof of possession, here or in proveKey. Until then other orgs may register the same key
   * without either learning of the other.
   */
  async register(principal: Principal, input: RequestBody<'registerAgent'>): Promise<Agent> {
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
    }).then(({ agent }) => agent);
  }

  /**
   * Proof of possession: from now on the key belongs to this org, and no other org's
   * registration of it can be proven. Only a caller who has just shown the key learns that
   * another org got there first.
   */
  async proveKey(principal: Principal, ref: string, proof: RequestBody<'proveAgentKey'>): Promise<Agent> {
    const orgId = await this.orgs.scope(principal);
    const agent = await this.row(this.db.manager, orgId, ref);
    if (!agent.public_key || !agent.sekuire_id) {
      throw new ConflictError('This agent has no registered key to prove; a minted agent authenticates with its secret.', 'AGENT_HAS_NO_KEY');
    }
    assertKeyProof(orgId, agent.sekuire_id, agent.public_key, proof);
    if (agent.key_proven_at) return toAgent(agent);
    try {
      const [[row]] = await this.db.untypedQuery(`UPDATE agents SET key_proven_at = now() WHERE id = $1 RETURNING ${AGENT_COLUMNS}`, [agent.id]);
      return toAgent(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw keyProvenElsewhere();
      throw error;
    }
  }

  /** Seeds 001/002: an agent with an `sas_` secret, returned once. */
  async mint(principal: Principal, input: RequestBody<'createAgent'>) {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const secret = newSecret(AGENT_SECRET_PREFIX);
    const { agent } = await this.insert(orgId, input.workspace_id, {
      name: input.name,
      daily_budget: input.daily_budget ?? null,
      policy_ids: input.policy_ids ?? [],
      secret_digest: digestSecret(secret),
    });
    return { ...agent, agent_secret: secret };
  }

  private async insert(orgId: string, workspaceId: string | undefined, fields: Record<string, unknown>): Promise<{ agent: Agent }> {
    return this.db.transaction(async (manager) => {
      await this.orgs.reserveQuota(orgId, 'agents', async () => (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM agents WHERE org_id = $1 AND status <> 'revoked'`, [orgId])).rows[0]!.n);
      if (workspaceId) await assertWorkspaceInOrg(manager, orgId, workspaceId);
      const columns = ['id', 'org_id', 'workspace_id', ...Object.keys(fields)];
      const values = [newId('agt'), orgId, workspaceId ?? null, ...Object.values(fields)];
      try {
        const [row] = await manager.query(
          `INSERT INTO agents (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${AGENT_COLUMNS}`,
          values,
        );
        return { agent: toAgent(row) };
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
    const statusSql = {
      active: `AND NOT ${AGENT_STOPPED_SQL}`,
      disabled: `AND a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now())`,
      revoked: `AND a.status = 'revoked'`,
    };
    const rows: AgentRow[] = await this.db.untypedQuery(
      `SELECT ${AGENT_COLUMNS} FROM agents a WHERE org_id = $1 AND ($2::text IS NULL OR workspace_id = $2) AND ($3::text IS NULL OR id < $3)
       ${query.status ? statusSql[query.status] : ''} ORDER BY id DESC LIMIT $4`,
      [orgId, query.workspace_id ?? null, decodeCursor(query.cursor), query.limit + 1],
    );
    const page = pageOf(rows, query.limit);
    return { agents: page.items.map(toAgent), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async get(principal: Principal, ref: string): Promise<Agent> {
    return toAgent(await this.row(this.db.manager, await this.orgs.scope(principal), ref));
  }

  /** A registered key counts only once proven; until then the answer carries the message to sign. */
  async verify(principal: Principal, ref: string) {
    const orgId = await this.orgs.scope(principal);
    const row = await this.row(this.db.manager, orgId, ref);
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
    const [rows] = await this.db.untypedQuery(
      `UPDATE agents SET status = 'revoked', revoked_at = COALESCE(revoked_at, now())
       WHERE org_id = $1 AND ${agentRefColumn(ref)} = $2 RETURNING ${AGENT_COLUMNS}`,
      [orgId, ref],
    );
    if (!rows[0]) throw agentNotFound(ref);
    return toAgent(rows[0]);
  }

  async kill(principal: Principal, ref: string, input: { reason: string; expires_at?: string }): Promise<Agent> {
    if (input.expires_at && new Date(input.expires_at).getTime() <= Date.now()) {
      throw new ValidationError('expires_at must be in the future.', 'EXPIRY_OUT_OF_RANGE', [
        { location: 'body', field: 'expires_at', message: 'is not in the future', rule: 'range' },
      ]);
    }
    return this.setStatus(principal, ref, 'disabled', input.reason, input.expires_at ?? null);
  }

  async enable(principal: Principal, ref: string): Promise<Agent> {
    return this.setStatus(principal, ref, 'active', null, null);
  }

  private async setStatus(principal: Principal, ref: string, status: 'active' | 'disabled', reason: string | null, until: string | null) {
    const orgId = await this.orgs.scope(principal);
    const [old] = await this.db.untypedQuery(`SELECT status, disabled_reason, disabled_until FROM agents WHERE org_id = $1 AND ${agentRefColumn(ref)} = $2 FOR UPDATE`, [orgId, ref]);
    if (old) noteBefore({ ...old, disabled_until: old.disabled_until?.toISOString() ?? null });
    const [rows] = await this.db.untypedQuery(
      `UPDATE agents SET status = $3, disabled_reason = $4, disabled_until = $5
       WHERE org_id = $1 AND ${agentRefColumn(ref)} = $2 AND status <> 'revoked' RETURNING ${AGENT_COLUMNS}`,
      [orgId, ref, status, reason, until],
    );
    if (rows[0]) return toAgent(rows[0]);
    await this.row(this.db.manager, orgId, ref);
    throw new ConflictError('The agent is revoked; revocation is permanent.', 'AGENT_REVOKED');
  }

  /** The agent's own routes: its secret works only for itself. */
  async setWireKey(principal: Principal, ref: string, publicKey: string): Promise<Agent> {
    await this.assertSelf(principal, ref);
    const key = decodeKey(publicKey, 'X25519', 'public_key');
    const [old] = await this.db.untypedQuery(`SELECT wire_public_key FROM agents WHERE id = $1 FOR UPDATE`, [principal.agentId]);
    noteBefore(old);
    const [[row]] = await this.db.untypedQuery(`UPDATE agents SET wire_public_key = $2, last_seen_at = now() WHERE id = $1 RETURNING ${AGENT_COLUMNS}`, [
      principal.agentId,
      key.toString('base64'),
    ]);
    return toAgent(row);
  }

  /** Pings come every few seconds: only coming online (first ping, or first after a silence) is an audit event. */
  async heartbeat(principal: Principal, ref: string, request: RequestFacts): Promise<void> {
    await this.assertSelf(principal, ref);
    await this.db.transaction(async (manager) => {
      const [[agent]] = await manager.query(
        `WITH old AS (SELECT id, last_seen_at FROM agents WHERE id = $1 FOR UPDATE)
         UPDATE agents a SET last_seen_at = now() FROM old WHERE a.id = old.id
         RETURNING a.org_id, a.workspace_id, old.last_seen_at AS previous_seen_at,
           old.last_seen_at IS NULL OR old.last_seen_at < now() - make_interval(mins => ${OFFLINE_AFTER_MINUTES}) AS came_online`,
        [principal.agentId],
      );
      if (!agent.came_online) return;
      await this.audit.append({
        orgId: agent.org_id,
        actor: actorOf(principal),
        workspaceId: agent.workspace_id,
        action: 'agent.online',
        resourceId: principal.agentId,
        outcome: 'success',
        ...request,
        details: { operation_id: 'recordAgentHeartbeat', previous_seen_at: agent.previous_seen_at?.toISOString() ?? null },
      });
    });
  }

  private async assertSelf(principal: Principal, ref: string): Promise<void> {
    const self =
      principal.agentId === ref ||
      (!ref.startsWith('agt_') && (await this.db.untypedQuery(`SELECT 1 FROM agents WHERE id = $1 AND sekuire_id = $2`, [principal.agentId, ref])).length > 0);
    if (!self) throw new ForbiddenError("An agent secret works only on its own agent's routes.", 'NOT_THIS_AGENT');
  }

  /** The agent named by id or sekuire_id in the org, or 404. */
  async row(manager: EntityManager, orgId: string, ref: string): Promise<AgentRow> {
    const [row] = await manager.query(`SELECT ${AGENT_COLUMNS} FROM agents WHERE org_id = $1 AND ${agentRefColumn(ref)} = $2`, [orgId, ref]);
    if (!row) throw agentNotFound(ref);
    return row;
  }
}
