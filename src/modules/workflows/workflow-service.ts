import type { components } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import type { RbacService } from '../rbac';
import { judgeAmong, type WorkflowJudgement, type WorkflowSubject } from './workflow-matcher';
import { type WorkflowRow, type WorkflowRules, WorkflowStore } from './workflow-store';

type Workflow = components['schemas']['Workflow'];
type WorkflowInput = components['schemas']['WorkflowInput'];
type WorkflowMatch = components['schemas']['WorkflowMatch'];

/** Every criterion present, empty when not given: what a workflow answers with, whatever it was made with. */
const fullMatch = (match: WorkflowMatch = {}): Required<WorkflowMatch> => ({
  project_ids: match.project_ids ?? [],
  environment_ids: match.environment_ids ?? [],
  environment_names: match.environment_names ?? [],
  kinds: match.kinds ?? [],
  labels: match.labels ?? {},
});

const toWorkflow = (row: WorkflowRow): Workflow => ({
  id: row.id,
  org_id: row.org_id,
  name: row.name,
  description: row.description,
  match: fullMatch(row.match),
  required_approvals: row.required_approvals,
  approver_roles: row.approver_roles,
  auto_approve: row.auto_approve,
  priority: row.priority,
  version: row.version,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const workflowNotFound = (id: string) => new NotFoundError(`No workflow '${id}' exists in this org.`, 'WORKFLOW_NOT_FOUND');
const nameTaken = (name: string) => new ConflictError(`A workflow named '${name}' already exists in this org.`, 'WORKFLOW_NAME_TAKEN');
const contradiction = (message: string) =>
  new ValidationError(`The workflow contradicts itself: ${message}.`, 'WORKFLOW_INVALID', [
    { location: 'body', field: 'auto_approve', message, rule: 'consistent' },
  ]);

/**
 * `auto_approve` and zero approvals are one thing, kept in step: either alone sets the other, the
 * two disagreeing is a 422. Without either, one approval is needed.
 */
function approvalsOf(input: WorkflowInput): Pick<WorkflowRules, 'required_approvals' | 'auto_approve'> {
  const { auto_approve: auto, required_approvals: required } = input;
  if (auto === true && required !== undefined && required > 0) {
    throw contradiction(`auto_approve needs no approvals, but required_approvals is ${required}`);
  }
  if (auto === false && required === 0) throw contradiction('required_approvals 0 approves at once; say auto_approve: true');
  const requiredApprovals = required ?? (auto ? 0 : 1);
  return { required_approvals: requiredApprovals, auto_approve: requiredApprovals === 0 };
}

/** Approval workflows (seed 002): which access requests need how many approvals from which roles. */
export class WorkflowService {
  private readonly store: WorkflowStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly roles: Pick<RbacService, 'unknownRoleNames'>,
  ) {
    this.store = new WorkflowStore(db);
  }

  async create(principal: Principal, input: WorkflowInput): Promise<Workflow> {
    const orgId = await this.orgs.scope(principal);
    const rules = await this.rulesOf(orgId, input);
    try {
      return toWorkflow(await this.db.transaction(() => this.store.insert({ id: newId('wf'), orgId }, rules)));
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name);
      throw error;
    }
  }

  async list(principal: Principal, query: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(orgId, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { workflows: page.items.map(toWorkflow), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** The current version, or the one asked for (also of a deleted workflow: requests recorded it). */
  async get(principal: Principal, workflowId: string, version?: number): Promise<Workflow> {
    const orgId = await this.orgs.scope(principal);
    const row = version === undefined ? await this.store.find(orgId, workflowId) : await this.store.version(orgId, workflowId, version);
    if (row) return toWorkflow(row);
    if (version === undefined || !(await this.store.existed(orgId, workflowId))) throw workflowNotFound(workflowId);
    throw new NotFoundError(`Workflow '${workflowId}' has no version ${version}.`, 'WORKFLOW_VERSION_NOT_FOUND');
  }

  /** A full replace, written as the next version; the versions before it never change. */
  async update(principal: Principal, workflowId: string, input: WorkflowInput): Promise<Workflow> {
    const orgId = await this.orgs.scope(principal);
    const rules = await this.rulesOf(orgId, input);
    try {
      return toWorkflow(
        await this.db.transaction(async () => {
          const current = await this.store.lockLive(orgId, workflowId);
          if (!current) throw workflowNotFound(workflowId);
          noteBefore(toWorkflow(current));
          return this.store.addVersion(orgId, workflowId, current.version + 1, rules);
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name);
      throw error;
    }
  }

  /** It stops judging at once; its versions stay readable for the requests that recorded them. */
  async remove(principal: Principal, workflowId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    await this.db.transaction(async () => {
      const current = await this.store.lockLive(orgId, workflowId);
      if (!current) throw workflowNotFound(workflowId);
      noteBefore(toWorkflow(current));
      await this.store.markDeleted(workflowId);
    });
  }

  /**
   * How a new access request of the org is to be approved: the live workflow whose match fits it
   * with the highest priority (on a tie the oldest) decides; none fitting means one approval.
   */
  async judge(orgId: string, subject: WorkflowSubject): Promise<WorkflowJudgement> {
    const rows = await this.store.live(orgId);
    return judgeAmong(
      rows.map((row) => ({
        id: row.id,
        version: row.version,
        priority: row.priority,
        createdAt: row.created_at,
        match: row.match,
        requiredApprovals: row.required_approvals,
        approverRoles: row.approver_roles,
        autoApprove: row.auto_approve,
      })),
      subject,
    );
  }

  /** The live workflows listing the role in `approver_roles`: the roles module asks, to keep such roles owner-governed. */
  namingApproverRole(orgId: string, roleName: string): Promise<Array<{ id: string; name: string }>> {
    return this.store.namingApproverRole(orgId, roleName);
  }

  /** The rules to write, defaults filled in, or 422 for approver roles the org does not have. */
  private async rulesOf(orgId: string, input: WorkflowInput): Promise<WorkflowRules> {
    const approverRoles = input.approver_roles ?? [];
    const unknown = await this.roles.unknownRoleNames(orgId, approverRoles);
    if (unknown.length > 0) {
      throw new ValidationError(
        `Not a role of this org: ${unknown.join(', ')}.`,
        'UNKNOWN_ROLE',
        unknown.map((name) => ({
          location: 'body',
          field: `approver_roles/${approverRoles.indexOf(name)}`,
          message: `'${name}' is neither a built-in role nor a custom role of this org`,
          rule: 'exists',
        })),
      );
    }
    return {
      name: input.name,
      description: input.description ?? '',
      match: fullMatch(input.match),
      ...approvalsOf(input),
      approver_roles: approverRoles,
      priority: input.priority ?? 0,
    };
  }
}
