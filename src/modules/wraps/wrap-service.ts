import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { KeyManager } from '../../crypto/key-manager';
import { type SealedBox, sealTo } from '../../crypto/x25519-seal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { ConflictError, ForbiddenError, GoneError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { AccessRequestService } from '../access-requests';
import type { AgentRow, AgentService } from '../agents';
import type { AuditService } from '../audit';
import type { JobService } from '../jobs';
import { DEK_TTL_SECONDS, issueDek, openAtRest, openWireValue, sealAtRest, WrapUnreadableError } from './wrap-keys';
import { type SealedWrapRow, type WrapRow, WrapStore } from './wrap-store';

type Wrap = components['schemas']['Wrap'];
type IssuedDek = components['schemas']['IssuedDek'];
type AgentWrapInput = operations['createAgentWrap']['requestBody']['content']['application/json'];

/** What wraps need of the other modules, reached lazily (access requests call back into wraps). */
export interface WrapDependencies {
  requests: Pick<AccessRequestService, 'visible' | 'find'>;
  jobs: Pick<JobService, 'heldBy'>;
}

const SWEEP_BATCH = 500;

/** A wrap's summary; `size_bytes` only for a caller who may know the value's length (else it is left out). */
const toWrap = (row: WrapRow, showSize = true): Wrap => ({
  id: row.id,
  request_id: row.request_id,
  kind: row.kind,
  status: row.retrieved_at ? 'retrieved' : row.expires_at.getTime() <= Date.now() ? 'expired' : 'available',
  created_by: row.created_by,
  ...(showSize && { size_bytes: row.size_bytes }),
  expires_at: row.expires_at.toISOString(),
  retrieved_at: row.retrieved_at?.toISOString() ?? null,
  retrieved_by: row.retrieved_by,
  created_at: row.created_at.toISOString(),
});

const wrapNotFound = (id: string) => new NotFoundError(`No wrap '${id}' of this request exists for you.`, 'WRAP_NOT_FOUND');
const gone = (row: WrapRow) =>
  new GoneError(
    row.retrieved_at
      ? `The wrap's value was already retrieved (at ${row.retrieved_at.toISOString()}); it can be retrieved only once.`
      : "The wrap's value expired unread and was destroyed.",
    'WRAP_GONE',
  );
const jobNotHeld = (requestId: string) =>
  new ConflictError(`This agent does not hold the running job of request '${requestId}'.`, 'REQUEST_JOB_NOT_HELD');
const wireKeyMissing = () =>
  new ConflictError('The agent has no X25519 wire key: set it with PUT /agents/{id}/public-key first.', 'WIRE_KEY_MISSING');

/**
 * Single-shot wraps: a secret's value on its way between an agent in the customer's cluster and
 * a person, never in plaintext at rest (each value under its own data key, wrapped by the KEK)
 * nor in any answer but the one retrieval, which destroys it. Data keys for agents are issued
 * sealed to their X25519 wire keys.
 */
export class WrapService {
  private readonly store: WrapStore;

  constructor(
    private readonly db: Db,
    private readonly agents: Pick<AgentService, 'row'>,
    private readonly keys: KeyManager,
    private readonly audit: Pick<AuditService, 'append'>,
    private readonly deps: () => WrapDependencies,
  ) {
    this.store = new WrapStore(db);
  }

  /** POST /agents/{id}/dek: a fresh DEK sealed to the agent's wire key and wrapped by the KEK; Warden keeps no copy. */
  async issueDek(principal: Principal, ref: string): Promise<IssuedDek> {
    const agent = await this.selfAgent(principal, ref);
    if (!agent.wire_public_key) throw wireKeyMissing();
    const dekId = newId('dek');
    const expiresAt = new Date(Date.now() + DEK_TTL_SECONDS * 1000);
    const { dek, token } = await issueDek(this.keys, dekId, agent.org_id, agent.id, expiresAt);
    await this.record(principal, agent.org_id, 'agent.dek_issued', agent.id, 'issueAgentDek', {
      dek_id: dekId,
      expires_at: expiresAt.toISOString(),
    });
    return {
      dek_id: dekId,
      sealed_dek: sealTo(Buffer.from(agent.wire_public_key, 'base64'), dek, `dek|${dekId}`),
      wrapped_dek: token,
      expires_at: expiresAt.toISOString(),
    };
  }

  /** POST /agents/{id}/wraps: the value an agent fetched for a read request, re-sealed at rest for the requester. */
  async createFromAgent(principal: Principal, ref: string, input: AgentWrapInput): Promise<Wrap> {
    const agent = await this.selfAgent(principal, ref);
    const request = await this.deps().requests.find(agent.org_id, input.request_id);
    if (request.status !== 'running' || !(await this.deps().jobs.heldBy(agent.org_id, agent.id, request.id))) throw jobNotHeld(request.id);
    let value: Buffer;
    try {
      value = await openWireValue(this.keys, {
        orgId: agent.org_id,
        agentId: agent.id,
        requestId: request.id,
        wrappedDek: input.wrapped_dek,
        nonce: input.nonce,
        ciphertext: input.ciphertext,
      });
    } catch (error) {
      if (!(error instanceof WrapUnreadableError)) throw error;
      throw new ValidationError(`The wrap does not open: ${error.message}.`, 'WRAP_UNREADABLE', [
        { location: 'body', field: 'ciphertext', message: error.message, rule: 'decrypt' },
      ]);
    }
    const row = await this.insert(agent.org_id, request.id, 'read', agent.id, value, new Date(request.expires_at));
    value.fill(0);
    // The agent sent the value and knows its length; the answer (which the audit log keeps as `after`) does not repeat it.
    return toWrap(row, false);
  }

  /** The requester's new value of a patch request, sealed at rest in the caller's transaction. */
  async storePatchValue(orgId: string, requestId: string, userId: string, value: string, expiresAt: Date): Promise<void> {
    await this.insert(orgId, requestId, 'patch', userId, Buffer.from(value, 'utf8'), expiresAt);
  }

  /** The id of the request's wrap (a patch request's new value, for its job's payload). */
  async idOf(orgId: string, requestId: string): Promise<string | null> {
    return (await this.store.listForRequest(orgId, requestId))[0]?.id ?? null;
  }

  /**
   * Whoever sees the request sees its wraps, but a value's length is a clue to the value (a
   * 4-digit PIN, a 40-character token): only the requester, who unwraps a read value and wrote a
   * patch value, is told `size_bytes`; for anyone else (request.read holders, approvers) it is left out.
   */
  async list(principal: Principal, requestId: string, userId: string | undefined): Promise<{ wraps: Wrap[] }> {
    assertCaller(principal, userId);
    const request = await this.deps().requests.visible(principal, requestId);
    const mayUnwrap = principal.userId !== null && request.requester_id === principal.userId;
    return { wraps: (await this.store.listForRequest(request.org_id, request.id)).map((row) => toWrap(row, mayUnwrap)) };
  }

  /** GET /requests/{id}/wraps/{wrap_id}: the requester takes the read value, once. */
  async retrieveForRequester(principal: Principal, requestId: string, wrapId: string, userId: string | undefined) {
    assertCaller(principal, userId);
    const request = await this.deps().requests.visible(principal, requestId);
    if (request.requester_id !== principal.userId) {
      throw new ForbiddenError("Only the requester retrieves a request's value.", 'NOT_THE_REQUESTER');
    }
    const { row, value } = await this.take(
      principal,
      request.org_id,
      wrapId,
      'retrieveRequestWrap',
      (wrap) => wrap.request_id === request.id && wrap.kind === 'read',
    );
    return { ...toWrap(row), value: value.toString('utf8') };
  }

  /** GET /agents/{id}/wraps/{wrap_id}: the agent carrying out a patch takes the new value, once, sealed to its wire key. */
  async retrieveForAgent(principal: Principal, ref: string, wrapId: string): Promise<Wrap & { sealed_value: SealedBox }> {
    const agent = await this.selfAgent(principal, ref);
    if (!agent.wire_public_key) throw wireKeyMissing();
    const wireKey = Buffer.from(agent.wire_public_key, 'base64');
    const { row, value } = await this.take(
      principal,
      agent.org_id,
      wrapId,
      'retrieveAgentWrap',
      (wrap) => wrap.kind === 'patch',
      async (wrap) => {
        const request = await this.deps().requests.find(agent.org_id, wrap.request_id);
        if (request.status !== 'running' || !(await this.deps().jobs.heldBy(agent.org_id, agent.id, request.id)))
          throw jobNotHeld(request.id);
      },
    );
    const sealed = sealTo(wireKey, value, `wrap|${row.id}`);
    value.fill(0);
    return { ...toWrap(row), sealed_value: sealed };
  }

  /** Destroys the unread value of a request that will not be carried out (rejected, cancelled, expired, failed). */
  async destroyFor(requestId: string): Promise<void> {
    await this.store.eraseForRequest(requestId);
  }

  /** The sweep: values past their expiry are destroyed even if nobody asks for them again. */
  async destroyExpired(): Promise<number> {
    let total = 0;
    for (let erased = SWEEP_BATCH; erased === SWEEP_BATCH; total += erased) erased = await this.store.eraseExpired(SWEEP_BATCH);
    return total;
  }

  private async insert(orgId: string, requestId: string, kind: 'read' | 'patch', createdBy: string, value: Buffer, expiresAt: Date) {
    const id = newId('wrp');
    const sealed = await sealAtRest(this.keys, { id, orgId, requestId }, value);
    const row = await this.store.insert({
      id,
      org_id: orgId,
      request_id: requestId,
      kind,
      created_by: createdBy,
      size_bytes: value.length,
      expires_at: expiresAt,
      ...sealed,
    });
    if (!row) throw new ConflictError(`Request '${requestId}' already has its wrap.`, 'WRAP_EXISTS');
    return row;
  }

  /**
   * The single-shot retrieval: under the wrap's row lock, the value is opened and erased and the
   * retrieval recorded in one transaction, so of concurrent callers exactly one gets it. An
   * expired value is erased then too, and the caller told it is gone.
   */
  private async take(
    principal: Principal,
    orgId: string,
    wrapId: string,
    operationId: 'retrieveRequestWrap' | 'retrieveAgentWrap',
    belongs: (wrap: SealedWrapRow) => boolean,
    precondition?: (wrap: SealedWrapRow) => Promise<void>,
  ): Promise<{ row: WrapRow; value: Buffer }> {
    const outcome = await this.db.transaction(async (): Promise<{ gone: WrapRow } | { row: WrapRow; value: Buffer }> => {
      const wrap = await this.store.lock(orgId, wrapId);
      if (!wrap || !belongs(wrap)) throw wrapNotFound(wrapId);
      await precondition?.(wrap);
      if (!wrap.ciphertext || !wrap.wrapped_dek || !wrap.kek_id) return { gone: wrap as WrapRow };
      if (wrap.expires_at.getTime() <= Date.now()) return { gone: await this.store.erase(wrap.id, null) };
      const value = await openAtRest(
        this.keys,
        { id: wrap.id, orgId, requestId: wrap.request_id },
        { kekId: wrap.kek_id, wrappedDek: wrap.wrapped_dek, ciphertext: wrap.ciphertext },
      );
      const row = await this.store.erase(wrap.id, actorOf(principal).id);
      await this.record(principal, orgId, 'wrap.retrieved', wrap.id, operationId, { request_id: wrap.request_id, kind: wrap.kind });
      return { row, value };
    });
    if ('gone' in outcome) throw gone(outcome.gone);
    return outcome;
  }

  /** The caller's own agent row, named by its id or sekuire_id; an agent secret works only on its own routes. */
  private async selfAgent(principal: Principal, ref: string): Promise<AgentRow> {
    const agent = await this.agents.row(principal.orgId!, principal.agentId!);
    if (ref !== agent.id && ref !== agent.sekuire_id) {
      throw new ForbiddenError("An agent secret works only on its own agent's routes.", 'NOT_THIS_AGENT');
    }
    return agent;
  }

  private record(
    principal: Principal,
    orgId: string,
    action: string,
    resourceId: string,
    operationId: string,
    details: Record<string, unknown>,
  ) {
    return this.audit.append({
      orgId,
      actor: actorOf(principal),
      action,
      resourceId,
      outcome: 'success',
      ...currentRequestFacts(),
      details: { operation_id: operationId, ...details },
    });
  }
}

/** Seed 002's `?user_id=` stop-gap names the caller or nobody. */
function assertCaller(principal: Principal, userId: string | undefined): void {
  if (userId !== undefined && userId !== principal.userId) {
    throw new ForbiddenError('user_id must be your own user id: identity comes from the credential.', 'ACTOR_MISMATCH');
  }
}
