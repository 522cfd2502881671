import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { GitopsService } from '../gitops';
import type { Job, JobLifecycle, JobService } from '../jobs';
import type { OrgService } from '../orgs';
import type { SecretReference, SecretService } from '../secrets';
import type { UserService } from '../users';
import type { WorkflowService } from '../workflows';
import type { WorkspaceService } from '../workspaces';
import type { WrapService } from '../wraps';
import { type AccessRequestRow, AccessRequestStore, type ApprovalRow, type RequestKind, type RequestStatus } from './access-request-store';

export type AccessRequest = components['schemas']['AccessRequest'];
type ReadInput = operations['createReadRequest']['requestBody']['content']['application/json'];
type PatchInput = operations['createPatchRequest']['requestBody']['content']['application/json'];
type SecretInput = ReadInput['secret'];

/** What access requests need of the other modules, reached lazily: several of them call back into this one. */
export interface AccessRequestDependencies {
  workspaces: Pick<WorkspaceService, 'projectForRequest'>;
  workflows: Pick<WorkflowService, 'judge'>;
  secrets: Pick<SecretService, 'resolve'>;
  jobs: Pick<JobService, 'enqueue'>;
  gitops: Pick<GitopsService, 'observePatch'>;
  wraps: Pick<WrapService, 'storePatchValue' | 'destroyFor' | 'idOf'>;
  users: Pick<UserService, 'creatorOf'>;
}

const MAX_APPROVALS_INLINE = 50;
const SWEEP_BATCH = 500;

/**
 * The requester names the environment, so only the secret's own `environment` (or `env`) label
 * vouches for it: a request naming another environment is refused, and one the secret carries no
 * label for is unverified (true: vouched for, false: unverified).
 */
function vouchedEnvironment(labels: Record<string, string>, environmentName: string): boolean {
  const label = labels.environment ?? labels.env;
  if (label === undefined) return false;
  if (label.toLowerCase() !== environmentName.toLowerCase()) {
    throw new ValidationError(`The secret belongs to environment "${label}", not "${environmentName}".`, 'ENVIRONMENT_MISMATCH', [
      { location: 'body', field: 'environment_id', message: `The secret's environment label is "${label}".`, rule: 'environment' },
    ]);
  }
  return true;
}

const isExpired = (row: AccessRequestRow) => row.status === 'pending' && row.expires_at.getTime() <= Date.now();

const toAccessRequest = (row: AccessRequestRow, approvals: ApprovalRow[]): AccessRequest => ({
  id: row.id,
  org_id: row.org_id,
  kind: row.kind,
  status: isExpired(row) ? 'expired' : row.status,
  requester_id: row.requester_id,
  project_id: row.project_id,
  project_name: row.project_name,
  environment_id: row.environment_id,
  environment_name: row.environment_name,
  secret_id: row.secret_id,
  secret: { cluster_name: row.cluster_name, provider: row.provider, ref: row.ref },
  justification: row.justification,
  expires_at: row.expires_at.toISOString(),
  workflow_id: row.workflow_id,
  workflow_version: row.workflow_version,
  required_approvals: row.required_approvals,
  approver_roles: row.approver_roles,
  approvals: approvals.slice(0, MAX_APPROVALS_INLINE).map((approval) => ({
    id: approval.id,
    approver_id: approval.approver_id,
    decision: approval.decision,
    comment: approval.comment,
    created_at: approval.created_at.toISOString(),
  })),
  job_id: row.job_id,
  decided_by: row.decided_by,
  decision_reason: row.decision_reason,
  decided_at: row.decided_at?.toISOString() ?? null,
  completed_at: row.completed_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const requestNotFound = (id: string) => new NotFoundError(`No access request '${id}' exists in this org for you.`, 'REQUEST_NOT_FOUND');
const actorMismatch = (field: string) =>
  new ForbiddenError(`${field} must be your own user id: identity comes from the credential.`, 'ACTOR_MISMATCH');

function notPending(row: AccessRequestRow): ConflictError {
  if (isExpired(row)) return new ConflictError(`The request expired at ${row.expires_at.toISOString()}.`, 'REQUEST_EXPIRED');
  return new ConflictError(`The request is ${row.status}, no longer pending.`, 'REQUEST_NOT_PENDING');
}

/** The user behind the credential: a login, or an API key a user made. Requests are always someone's. */
function userOf(principal: Principal): string {
  if (principal.userId === null || (principal.kind !== 'user' && principal.kind !== 'api_key')) {
    throw new ForbiddenError('Access requests are made and decided by people: use a login, or an API key a user made.', 'USER_REQUIRED');
  }
  return principal.userId;
}

/**
 * Access requests (seed 002): a person asks to read or change a secret; the workflow that matches
 * says how many approvals from which roles it needs; the approval that completes it queues a job
 * for an agent serving the secret's cluster, whose claim and settlement (JobLifecycle) carry the
 * request on to running, then completed or failed. Every transition reads the request under its
 * row lock, so concurrent decisions serialize and exactly one completes (or ends) it.
 */
export class AccessRequestService implements JobLifecycle {
  private readonly store: AccessRequestStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly deps: () => AccessRequestDependencies,
    private readonly defaultTtlSeconds = 86_400,
  ) {
    this.store = new AccessRequestStore(db);
  }

  /**
   * Ids of a few pending requests that still wait on the role: a request keeps the approver_roles
   * its workflow had when it was made, so a role stays decisive after its workflow changes or goes.
   * The roles module asks, to keep such roles owner-governed.
   */
  pendingWaitingOnRole(orgId: string, roleName: string): Promise<string[]> {
    return this.store.pendingNamingApproverRole(orgId, roleName, 5);
  }

  createRead(principal: Principal, input: ReadInput): Promise<AccessRequest> {
    return this.create(principal, 'read', input, null);
  }

  createPatch(principal: Principal, input: PatchInput): Promise<AccessRequest> {
    return this.create(principal, 'patch', input, input.value);
  }

  async list(principal: Principal, query: { requester_id?: string; status?: RequestStatus; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    // Without request.read a caller sees only their own requests, whatever requester_id asks for.
    const seesAll = principal.permissions.has('request.read');
    const requesterId = seesAll ? (query.requester_id ?? null) : userOf(principal);
    if (!seesAll && query.requester_id !== undefined && query.requester_id !== requesterId) {
      return { requests: [], has_more: false, next_cursor: null };
    }
    const rows = await this.store.list(orgId, { requesterId, status: query.status ?? null }, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    const approvals = await this.store.approvalsOf(page.items.map((row) => row.id));
    return {
      requests: page.items.map((row) =>
        toAccessRequest(
          row,
          approvals.filter((approval) => approval.request_id === row.id),
        ),
      ),
      has_more: page.has_more,
      next_cursor: page.next_cursor,
    };
  }

  /** The request if the caller may see it (its requester, or a holder of request.read in its org); else 404. */
  async visible(principal: Principal, requestId: string): Promise<AccessRequest> {
    const row = await this.visibleRow(principal, requestId);
    return this.present(row);
  }

  /** The org's request, for agents' routes (whose callers are checked against its job instead); else 404. */
  async find(orgId: string, requestId: string): Promise<AccessRequest> {
    const row = await this.store.find(orgId, requestId);
    if (!row) throw requestNotFound(requestId);
    return this.present(row);
  }

  async approve(principal: Principal, id: string, input: { approver_id: string; comment?: string }): Promise<AccessRequest> {
    return this.decide(principal, id, input.approver_id, 'approved', input.comment ?? null);
  }

  async reject(principal: Principal, id: string, input: { approver_id: string; reason: string }): Promise<AccessRequest> {
    return this.decide(principal, id, input.approver_id, 'rejected', input.reason);
  }

  async cancel(principal: Principal, id: string, input: { actor_id: string }): Promise<AccessRequest> {
    const userId = userOf(principal);
    if (input.actor_id !== userId) throw actorMismatch('actor_id');
    const seen = await this.visibleRow(principal, id);
    if (seen.requester_id !== userId) throw new ForbiddenError('Only the requester cancels a request.', 'NOT_THE_REQUESTER');
    return this.db.transaction(async () => {
      const row = (await this.store.find(seen.org_id, id, true))!;
      if (row.status !== 'pending' || isExpired(row)) throw notPending(row);
      noteBefore(await this.present(row));
      const cancelled = await this.store.transition(id, { status: 'cancelled', decidedBy: userId, decided: true });
      await this.deps().wraps.destroyFor(id);
      return this.present(cancelled);
    });
  }

  /** JobLifecycle: inside the claim's transaction, an approved request's job has an agent now. */
  async claimed(job: Job): Promise<void> {
    if (!job.request_id) return;
    const row = await this.store.lockById(job.request_id);
    if (row?.status === 'approved') await this.store.transition(row.id, { status: 'running' });
  }

  /** JobLifecycle: inside the transaction that completes the job, or fails it for good. */
  async settled(job: Job): Promise<void> {
    if (!job.request_id) return;
    const row = await this.store.lockById(job.request_id);
    if (!row || (row.status !== 'running' && row.status !== 'approved')) return;
    const succeeded = job.status === 'completed';
    await this.store.transition(row.id, { status: succeeded ? 'completed' : 'failed', completed: true });
    if (!succeeded) {
      await this.deps().wraps.destroyFor(row.id);
    } else if (row.kind === 'patch') {
      await this.deps().gitops.observePatch({
        orgId: row.org_id,
        requestId: row.id,
        secret: { clusterName: row.cluster_name, provider: row.provider, ref: row.ref },
        appliedAt: job.completed_at ? new Date(job.completed_at) : new Date(),
      });
    }
  }

  /** The sweep: pending requests past their deadline are written expired (reads already show them so), their values destroyed. */
  async expireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await this.db.transaction(async () => {
        const rows = await this.store.expireDue(SWEEP_BATCH);
        for (const row of rows) await this.deps().wraps.destroyFor(row.id);
        return rows.length;
      });
      total += expired;
      if (expired < SWEEP_BATCH) return total;
    }
  }

  private async create(principal: Principal, kind: RequestKind, input: ReadInput, value: string | null): Promise<AccessRequest> {
    const requesterId = userOf(principal);
    const orgId = await this.orgs.scope(principal);
    const { workspaces, secrets, workflows } = this.deps();
    const project = await workspaces.projectForRequest(orgId, input.project_id, input.environment_id);
    const secret = await secrets.resolve(orgId, referenceOf(input.secret));
    const judgement = await workflows.judge(orgId, {
      projectId: project.projectId,
      environmentId: project.environmentId,
      environmentName: project.environmentName,
      environmentVerified: vouchedEnvironment(secret.labels, project.environmentName),
      kind,
      labels: secret.labels,
    });
    const autoApprove = judgement.autoApprove || judgement.requiredApprovals === 0;
    const expiresAt = new Date(Date.now() + (input.expires_in ?? this.defaultTtlSeconds) * 1000);
    return this.db.transaction(async () => {
      const row = await this.store.insert({
        id: newId('acr'),
        org_id: orgId,
        kind,
        status: 'pending',
        requester_id: requesterId,
        project_id: project.projectId,
        project_name: project.projectName,
        environment_id: project.environmentId,
        environment_name: project.environmentName,
        secret_id: secret.id,
        cluster_name: secret.cluster_name,
        provider: secret.provider,
        ref: secret.ref,
        justification: input.justification,
        expires_at: expiresAt,
        workflow_id: judgement.workflowId,
        workflow_version: judgement.workflowVersion,
        required_approvals: autoApprove ? 0 : judgement.requiredApprovals,
        approver_roles: autoApprove ? [] : judgement.approverRoles,
      });
      if (value !== null) await this.deps().wraps.storePatchValue(orgId, row.id, requesterId, value, expiresAt);
      return this.present(autoApprove ? await this.approveNow(row) : row);
    });
  }

  /** pending → approved, with the job queued in the same transaction: an approved request always has its job. */
  private async approveNow(row: AccessRequestRow): Promise<AccessRequestRow> {
    const wrapId = row.kind === 'patch' ? await this.deps().wraps.idOf(row.org_id, row.id) : null;
    const job = await this.deps().jobs.enqueue({
      orgId: row.org_id,
      clusterName: row.cluster_name,
      kind: row.kind,
      requestId: row.id,
      payload: {
        request_id: row.id,
        kind: row.kind,
        secret: { cluster_name: row.cluster_name, provider: row.provider, ref: row.ref },
        expires_at: row.expires_at.toISOString(),
        ...(row.kind === 'patch' ? { wrap_id: wrapId } : {}),
      },
    });
    return this.store.transition(row.id, { status: 'approved', jobId: job.id, decided: true });
  }

  private async decide(
    principal: Principal,
    id: string,
    approverId: string,
    decision: 'approved' | 'rejected',
    comment: string | null,
  ): Promise<AccessRequest> {
    if (principal.kind !== 'user' || principal.userId === null) {
      throw new ForbiddenError('Access requests are decided by a person: use a login session, not an API key.', 'HUMAN_DECISION_REQUIRED');
    }
    const userId = principal.userId;
    if (approverId !== userId) throw actorMismatch('approver_id');
    const orgId = await this.orgs.scope(principal);
    return this.db.transaction(async () => {
      const row = await this.store.find(orgId, id, true);
      if (!row) throw requestNotFound(id);
      if (row.requester_id === userId) {
        throw new ForbiddenError('A requester never decides their own request.', 'SELF_APPROVAL_FORBIDDEN');
      }
      // Nor does whoever created the requester: an admin may create members, so a member they
      // made could be their sock puppet, asking for what the admin then approves.
      if ((await this.deps().users.creatorOf(row.requester_id)) === userId) {
        throw new ForbiddenError(
          'You created the requester, so you do not decide their requests: another approver must.',
          'CREATOR_DECISION_FORBIDDEN',
        );
      }
      if (row.approver_roles.length > 0 && !row.approver_roles.some((role) => principal.roles.includes(role))) {
        throw new ForbiddenError(
          `This request's workflow lets only holders of ${row.approver_roles.map((role) => `'${role}'`).join(' or ')} decide it.`,
          'APPROVER_ROLE_REQUIRED',
        );
      }
      if (row.status !== 'pending' || isExpired(row)) throw notPending(row);
      noteBefore(await this.present(row));
      const recorded = await this.store.insertApproval({
        id: newId('rqa'),
        org_id: orgId,
        request_id: id,
        approver_id: userId,
        decision,
        comment,
      });
      if (!recorded) throw new ConflictError('You have already decided this request.', 'ALREADY_DECIDED_BY_YOU');
      if (decision === 'rejected') {
        await this.deps().wraps.destroyFor(id);
        return this.present(await this.store.transition(id, { status: 'rejected', decidedBy: userId, reason: comment!, decided: true }));
      }
      const approvals = (await this.store.approvalsOf([id])).filter((approval) => approval.decision === 'approved').length;
      if (approvals < row.required_approvals) return this.present(row);
      return this.present(await this.approveNow(row));
    });
  }

  private async visibleRow(principal: Principal, requestId: string): Promise<AccessRequestRow> {
    const orgId = await this.orgs.scope(principal);
    const row = await this.store.find(orgId, requestId);
    if (!row || (row.requester_id !== principal.userId && !principal.permissions.has('request.read'))) throw requestNotFound(requestId);
    return row;
  }

  private async present(row: AccessRequestRow): Promise<AccessRequest> {
    return toAccessRequest(row, await this.store.approvalsOf([row.id]));
  }
}

function referenceOf(secret: SecretInput): SecretReference {
  return 'secret_id' in secret
    ? { secretId: secret.secret_id }
    : { clusterName: secret.cluster_name, provider: secret.provider, ref: secret.ref };
}
