import type { Logger } from 'pino';
import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts, type NewAuditEvent, type RequestFacts, withRequestFacts } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import type { NotificationChannel, Notifications } from '../../db/notifications';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import { Alarm, WaitSlots, Wakers } from '../../lib/waits';
import type { AgentService } from '../agents';
import type { AuditService } from '../audit';
import type { OrgService } from '../orgs';
import { ClaimBatches } from './claim-batches';
import { type JobRow, type JobStatus, JobStore } from './job-store';

export type Job = components['schemas']['Job'];
type CreateJobInput = operations['createJob']['requestBody']['content']['application/json'];
type CompleteJobInput = operations['completeAgentJob']['requestBody']['content']['application/json'];

/** What the module that enqueued a job for an access request learns of it (E's AccessRequestService implements it). */
export interface JobLifecycle {
  /** Inside the claim's transaction, for a job with a request_id (request approved → running). */
  claimed(job: Job): Promise<void>;
  /** Inside the transaction that completes it, or fails it for good (attempts exhausted): running → completed | failed. */
  settled(job: Job): Promise<void>;
}

/**
 * Which clusters an agent serves: those it has reported secrets of (the secrets module knows). A
 * waiting claim asks it which announcements concern the agent; the claim statement itself reads
 * the same rows (see the job store), so that a claim is one statement.
 */
export interface ClusterDirectory {
  clustersServedBy(orgId: string, agentId: string): Promise<string[]>;
}

export interface JobOptions {
  visibilityTimeoutSeconds: number;
  maxWaits: number;
  maxWaitsPerOrg: number;
  /** How often a waiting claim tries again: often where nothing announces new jobs (PGlite), otherwise for leases that ran out. */
  pollIntervalMs: number;
}

/** What a new job's announcement says, so that only the waits that may claim it wake. */
interface Enqueued {
  agentId: string | null;
  clusterName: string;
}

/** The channel new jobs are announced on, with their org, pinned agent and cluster. */
const ENQUEUED_CHANNEL = 'warden_job_enqueued';
const DEFAULT_MAX_ATTEMPTS = 3;
const MAX_PAYLOAD_BYTES = 16 * 1024;
const MAX_PAYLOAD_DEPTH = 8;
/** At most this many claims share one transaction. */
const MAX_CLAIM_BATCH = 16;

/** One claim statement to make for a caller: who, and the facts of its request (its audit event records them). */
interface ClaimRequest {
  principal: Principal;
  agent: { orgId: string; id: string };
  facts: RequestFacts;
  /** The caller's disconnection: a caller gone before its batch starts claims nothing. */
  signal: AbortSignal | undefined;
}

const toJob = (row: JobRow): Job => ({
  id: row.id,
  kind: row.kind,
  status: row.status,
  cluster_name: row.cluster_name,
  agent_id: row.agent_id ?? row.claimed_by,
  request_id: row.request_id,
  payload: row.payload,
  attempts: row.attempts,
  max_attempts: row.max_attempts,
  claimed_at: row.claimed_at?.toISOString() ?? null,
  lease_expires_at: row.status === 'claimed' ? row.visible_at.toISOString() : null,
  completed_at: row.completed_at?.toISOString() ?? null,
  error: row.error,
  created_at: row.created_at.toISOString(),
});

const jobNotFound = (id: string) => new NotFoundError(`No job '${id}' exists in this org.`, 'JOB_NOT_FOUND');
const notThisAgent = () => new ForbiddenError("An agent secret works only on its own agent's routes.", 'NOT_THIS_AGENT');

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

function assertPayloadBounded(payload: Record<string, unknown>): void {
  if (Buffer.byteLength(JSON.stringify(payload)) <= MAX_PAYLOAD_BYTES && depthOf(payload) <= MAX_PAYLOAD_DEPTH) return;
  const message = `is over ${MAX_PAYLOAD_BYTES} bytes as JSON or nested deeper than ${MAX_PAYLOAD_DEPTH} levels`;
  throw new ValidationError(`payload ${message}.`, 'JOB_PAYLOAD_TOO_LARGE', [
    { location: 'body', field: 'payload', message, rule: 'size' },
  ]);
}

/**
 * The agents' job queue. A job waits for an agent of its org that it is pinned to or that serves
 * its cluster; a claim leases it for the visibility timeout; a lease that runs out puts it back
 * (or fails it after its last attempt). Claims wait (long-poll) without a database connection,
 * woken by the announcement of a job they may take.
 */
export class JobService {
  private readonly store: JobStore;
  private readonly slots: WaitSlots;
  /** The waiting claims, by org. */
  private readonly wakers = new Wakers<Enqueued>();
  private readonly enqueued: NotificationChannel;
  /** Claims made at once share a transaction (see ClaimBatches). */
  private readonly claims = new ClaimBatches<ClaimRequest, Job | undefined>((requests) => this.claimBatch(requests), MAX_CLAIM_BATCH);

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'row'>,
    private readonly audit: Pick<AuditService, 'append' | 'appendChained'>,
    notifications: Notifications,
    private readonly logger: Logger,
    private readonly options: JobOptions,
    /** Lazy: the secrets module's directory of clusters, and the access requests' lifecycle (which enqueue jobs themselves). */
    private readonly peers: () => { clusters: ClusterDirectory; lifecycle: JobLifecycle | undefined },
  ) {
    this.store = new JobStore(db, notifications.enabled);
    this.slots = new WaitSlots(options, {
      message: 'Too many job claims are being waited for; retry in 1 second.',
      code: 'JOB_WAITS_EXHAUSTED',
    });
    this.enqueued = notifications.channel(ENQUEUED_CHANNEL, (payload) => this.heard(payload));
  }

  /** In the caller's transaction; waiting claimers are woken after commit. */
  async enqueue(job: {
    orgId: string;
    clusterName: string;
    kind: 'read' | 'patch' | 'custom';
    requestId: string | null;
    payload: Record<string, unknown>;
    agentId?: string | null;
  }): Promise<Job> {
    return this.insert({ ...job, maxAttempts: DEFAULT_MAX_ATTEMPTS });
  }

  private async insert(job: Parameters<JobService['enqueue']>[0] & { maxAttempts: number }): Promise<Job> {
    assertPayloadBounded(job.payload);
    const news: Enqueued = { agentId: job.agentId ?? null, clusterName: job.clusterName };
    return this.db.transaction(async () => {
      const row = await this.store.insert({
        id: newId('job'),
        org_id: job.orgId,
        kind: job.kind,
        cluster_name: job.clusterName,
        agent_id: news.agentId,
        request_id: job.requestId,
        payload: job.payload,
        max_attempts: job.maxAttempts,
      });
      await this.store.notify(ENQUEUED_CHANNEL, JSON.stringify({ org: job.orgId, ...news }));
      this.db.afterCommit(() => this.wakers.wake(job.orgId, news));
      return toJob(row);
    });
  }

  /** The claimed, unfinished job of this request that this agent holds, if any. */
  async heldBy(orgId: string, agentId: string, requestId: string): Promise<Job | undefined> {
    const row = await this.store.findHeld(orgId, agentId, requestId);
    return row && toJob(row);
  }

  /** Admin: a job for the agents serving a cluster, or pinned to one agent of the org. */
  async create(principal: Principal, input: CreateJobInput): Promise<Job> {
    const orgId = await this.orgs.scope(principal);
    const agentId = input.agent_id ? (await this.agents.row(orgId, input.agent_id)).id : null;
    return this.insert({
      orgId,
      clusterName: input.cluster_name,
      kind: input.kind,
      requestId: null,
      payload: input.payload,
      agentId,
      maxAttempts: input.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    });
  }

  async get(principal: Principal, id: string): Promise<Job> {
    const row = await this.store.find(await this.orgs.scope(principal), id);
    if (!row) throw jobNotFound(id);
    return toJob(row);
  }

  async list(
    principal: Principal,
    query: { status?: JobStatus; cluster_name?: string; agent_id?: string; request_id?: string; limit: number; cursor?: string },
  ) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(
      orgId,
      {
        status: query.status ?? null,
        clusterName: query.cluster_name ?? null,
        agentId: query.agent_id ?? null,
        requestId: query.request_id ?? null,
      },
      { beforeId: decodeCursor(query.cursor), limit: query.limit + 1 },
    );
    const page = pageOf(rows, query.limit);
    return { jobs: page.items.map(toJob), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /**
   * The next job the calling agent may take, leased to it; with `wait`, held until one is enqueued
   * or the wait ends (undefined: none). Only a claim that hands out a job is an audit event.
   */
  async claim(principal: Principal, ref: string, wait: { seconds: number; signal?: AbortSignal }): Promise<Job | undefined> {
    const agent = await this.self(principal, ref);
    const job = await this.claimOnce(principal, agent, wait.signal);
    if (job || wait.seconds === 0 || wait.signal?.aborted) return job;
    return this.waitToClaim(principal, agent, wait);
  }

  private async waitToClaim(
    principal: Principal,
    agent: { orgId: string; id: string },
    wait: { seconds: number; signal?: AbortSignal },
  ): Promise<Job | undefined> {
    const leave = this.slots.enter(agent.orgId, agent.id);
    let clusters: string[];
    try {
      // Which announcements may concern this agent (each claim statement reads the clusters afresh).
      clusters = await this.peers().clusters.clustersServedBy(agent.orgId, agent.id);
    } catch (error) {
      leave();
      throw error;
    }
    const alarm = new Alarm();
    const mayTake = (news: Enqueued | null) =>
      news === null || news.agentId === agent.id || (news.agentId === null && clusters.includes(news.clusterName));
    const unsubscribe = this.wakers.subscribe(agent.orgId, (news) => {
      if (mayTake(news)) alarm.ring();
    });
    let stopListening = () => {};
    try {
      stopListening = await this.enqueued.hold().catch((error: Error) => {
        this.logger.warn({ err_message: error.message }, 'job claim wait falls back to polling: LISTEN failed');
        return () => {};
      });
      const deadline = Date.now() + wait.seconds * 1000;
      // Claim again now that an enqueue would wake us: a job enqueued before listening is found here.
      for (;;) {
        if (wait.signal?.aborted) return undefined;
        const job = await this.claimOnce(principal, agent, wait.signal);
        const left = deadline - Date.now();
        if (job || left <= 0) return job;
        await alarm.sleep(Math.min(left, this.options.pollIntervalMs), wait.signal);
      }
    } finally {
      stopListening();
      unsubscribe();
      leave();
    }
  }

  /** One claim statement, in the transaction of the batch of claims made at the same time. */
  private claimOnce(principal: Principal, agent: { orgId: string; id: string }, signal: AbortSignal | undefined): Promise<Job | undefined> {
    return this.claims.add({ principal, agent, facts: currentRequestFacts(), signal });
  }

  /**
   * A batch of claims: one claim statement, with the lifecycle hooks and the audit events of what it
   * did, in one transaction outside any caller's: a hand-out (`job.claimed`, with the facts of the
   * request it answers), and any job it failed for good (`job.failed`, by the system), chained in the
   * batch's transaction (two statements for the lot). An empty claim writes nothing.
   */
  private claimBatch(requests: ClaimRequest[]): Promise<Array<Job | undefined>> {
    return this.db.detached(() =>
      this.db.transaction(async () => {
        // A caller gone before its batch started claims nothing.
        const claiming = requests.filter((request) => !request.signal?.aborted);
        if (claiming.length === 0) return requests.map(() => undefined);
        const members = claiming.map(({ agent }) => ({ orgId: agent.orgId, agentId: agent.id }));
        const { claimed, failed } = await this.store.claim(members, this.options.visibilityTimeoutSeconds);
        const events: NewAuditEvent[] = [];
        for (const row of failed) {
          const job = toJob(row);
          await withRequestFacts(claiming[0]!.facts, async () => {
            if (job.request_id) await this.peers().lifecycle?.settled(job);
            events.push(this.event(row.org_id, { type: 'system', id: null }, 'job.failed', job, 'claimAgentJob'));
          });
        }
        const handedOut = new Map<ClaimRequest, Job>();
        for (const [index, request] of claiming.entries()) {
          const row = claimed[index];
          if (!row) continue;
          const job = toJob(row);
          await withRequestFacts(request.facts, async () => {
            if (job.request_id) await this.peers().lifecycle?.claimed(job);
            events.push(this.event(request.agent.orgId, actorOf(request.principal), 'job.claimed', job, 'claimAgentJob'));
          });
          handedOut.set(request, job);
        }
        // Last, so that the chains' heads are held for the commit alone.
        if (events.length > 0) await this.audit.appendChained(events);
        return requests.map((request) => handedOut.get(request));
      }),
    );
  }

  /** Final: `completed`, or `failed` with the agent's reason. Only the holder, within its lease, may say so. */
  async complete(principal: Principal, ref: string, jobId: string, input: CompleteJobInput): Promise<void> {
    const agent = await this.self(principal, ref);
    if (input.error !== undefined && input.status !== 'failed') {
      throw new ValidationError('error is given only with status failed.', 'VALIDATION_FAILED', [
        { location: 'body', field: 'error', message: 'is given only with status failed', rule: 'dependency' },
      ]);
    }
    await this.db.transaction(async () => {
      const row = await this.store.complete(agent.orgId, agent.id, jobId, { status: input.status, error: input.error ?? null });
      if (!row) {
        if (!(await this.store.find(agent.orgId, jobId))) throw jobNotFound(jobId);
        throw new ConflictError(
          'This agent does not hold the job: another agent does, its lease expired, or it is finished.',
          'JOB_NOT_HELD',
        );
      }
      const job = toJob(row);
      if (job.request_id) await this.peers().lifecycle?.settled(job);
      await this.audit.append(this.event(agent.orgId, actorOf(principal), `job.${job.status}`, job, 'completeAgentJob'));
    });
  }

  private event(orgId: string, actor: NewAuditEvent['actor'], action: string, job: Job, operationId: string): NewAuditEvent {
    return {
      orgId,
      actor,
      action,
      resourceId: job.id,
      outcome: 'success',
      ...currentRequestFacts(),
      details: {
        operation_id: operationId,
        kind: job.kind,
        cluster_name: job.cluster_name,
        agent_id: job.agent_id,
        request_id: job.request_id,
        attempts: job.attempts,
        ...(job.error === null ? {} : { error: job.error }),
      },
    };
  }

  /** The agent's own routes: its secret works only for itself (by id, or by its sekuire_id). */
  private async self(principal: Principal, ref: string): Promise<{ orgId: string; id: string }> {
    const orgId = principal.orgId!;
    const id = principal.agentId!;
    if (ref === id) return { orgId, id };
    if (ref.startsWith('agt_')) throw notThisAgent();
    const named = await this.agents.row(orgId, ref).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (named?.id !== id) throw notThisAgent();
    return { orgId, id };
  }

  /** An announcement from any instance: wakes the org's waits that may take the job; null (connection lost) wakes every wait. */
  private heard(payload: string | null): void {
    let news: (Enqueued & { org: string }) | undefined;
    try {
      news = payload === null ? undefined : JSON.parse(payload);
    } catch {
      news = undefined;
    }
    if (news) this.wakers.wake(news.org, { agentId: news.agentId, clusterName: news.clusterName });
    else this.wakers.wakeAll();
  }
}
