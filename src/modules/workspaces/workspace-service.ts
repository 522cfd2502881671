import type { components } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { AgentService } from '../agents';
import type { InstallationService } from '../installations';
import type { OrgService } from '../orgs';
import type { UserService } from '../users';
import { type MemberRow, type WorkspaceRow, type WorkspaceStatus, WorkspaceStore } from './workspace-store';

type Workspace = components['schemas']['Workspace'];
type WorkspaceMember = components['schemas']['WorkspaceMember'];
type WorkspaceRole = components['schemas']['WorkspaceRole'];

/** What lives in a workspace and goes (or holds its deletion back) with it. */
export interface WorkspaceContents {
  agents: Pick<AgentService, 'idsIn' | 'deleteIn'>;
  installations: Pick<InstallationService, 'idsIn'>;
}

const toWorkspace = (row: WorkspaceRow): Workspace => ({
  id: row.id,
  org_id: row.org_id,
  name: row.name,
  description: row.description,
  status: row.status,
  archived_at: row.archived_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});
const toMember = (row: MemberRow): WorkspaceMember => ({
  user_id: row.user_id,
  email: row.email,
  role: row.role,
  added_at: row.added_at.toISOString(),
});

/** How many dependents of each kind a 409 names. */
const NAMED_DEPENDENTS = 20;

/**
 * Seed 000 says workspace where seed 002 says project: one row, answered in the words of the path
 * family the caller used (their error codes too), so a seed-002 client never meets a "workspace".
 */
export type WorkspaceTerm = 'workspace' | 'project';

const CODES = {
  workspace: { notFound: 'WORKSPACE_NOT_FOUND', nameTaken: 'WORKSPACE_NAME_TAKEN' },
  project: { notFound: 'PROJECT_NOT_FOUND', nameTaken: 'PROJECT_NAME_TAKEN' },
} as const;

const workspaceNotFound = (id: string, term: WorkspaceTerm = 'workspace') =>
  new NotFoundError(`No ${term} '${id}' exists in this org.`, CODES[term].notFound);
const nameTaken = (name: string, term: WorkspaceTerm = 'workspace') =>
  new ConflictError(`A ${term} named '${name}' already exists in this org.`, CODES[term].nameTaken);
const archived = (id: string, term: WorkspaceTerm) =>
  new ConflictError(
    `The ${term} '${id}' is archived: it takes no new environments or access requests until it is active again.`,
    'PROJECT_ARCHIVED',
  );

/** Where an access request points (WorkspaceService.projectForRequest). */
export interface RequestPlace {
  projectId: string;
  projectName: string;
  environmentId: string;
  environmentName: string;
}

export class WorkspaceService {
  private readonly store: WorkspaceStore;

  /**
   * `contents` is called only when a workspace is deleted: the agents and installations modules
   * check their workspaces here, so they are built after this service.
   */
  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope' | 'reserveQuota'>,
    private readonly users: Pick<UserService, 'get'>,
    private readonly contents: () => WorkspaceContents,
  ) {
    this.store = new WorkspaceStore(db);
  }

  /** 404 unless the workspace belongs to the org: other modules check workspaces they are handed this way. */
  async assertInOrg(orgId: string, workspaceId: string, term: WorkspaceTerm = 'workspace'): Promise<void> {
    if (!(await this.store.exists(orgId, workspaceId))) throw workspaceNotFound(workspaceId, term);
  }

  /**
   * 404 unless the workspace belongs to the org, 409 `PROJECT_ARCHIVED` when it is archived; it
   * stays share-locked until the caller's transaction ends, so it is not archived under what the caller adds.
   */
  async assertOpen(orgId: string, workspaceId: string, term: WorkspaceTerm): Promise<void> {
    const status = await this.store.shareLockStatus(orgId, workspaceId);
    if (!status) throw workspaceNotFound(workspaceId, term);
    if (status === 'archived') throw archived(workspaceId, term);
  }

  /**
   * The project (= workspace) and environment a new access request names; 404 `PROJECT_NOT_FOUND`
   * / `ENVIRONMENT_NOT_FOUND` (also for another org's, or an environment of another project),
   * 409 `PROJECT_ARCHIVED`. The project stays share-locked until the caller's transaction ends.
   */
  async projectForRequest(orgId: string, projectId: string, environmentId: string): Promise<RequestPlace> {
    const place = await this.store.requestPlace(orgId, projectId, environmentId);
    if (!place) throw workspaceNotFound(projectId, 'project');
    if (place.environment_name === null) {
      throw new NotFoundError(`No environment '${environmentId}' exists in project '${projectId}'.`, 'ENVIRONMENT_NOT_FOUND');
    }
    if (place.status === 'archived') throw archived(projectId, 'project');
    return { projectId, projectName: place.project_name, environmentId, environmentName: place.environment_name };
  }

  /** `orgId` is the path's (seed 000); seed 002's paths name none, so the credential's org is used. */
  async list(principal: Principal, orgId: string | undefined, page: { limit: number; cursor?: string; status?: WorkspaceStatus }) {
    const scoped = await this.orgs.scope(principal, orgId);
    const rows = await this.store.list(scoped, page.status ?? null, decodeCursor(page.cursor), page.limit + 1);
    const result = pageOf(rows, page.limit);
    return { workspaces: result.items.map(toWorkspace), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  async get(principal: Principal, orgId: string | undefined, workspaceId: string, term: WorkspaceTerm = 'workspace'): Promise<Workspace> {
    const scoped = await this.orgs.scope(principal, orgId);
    return toWorkspace(await this.row(scoped, workspaceId, term));
  }

  /** Creates the workspace, counted against the plan's quota; a user creating it becomes its admin. */
  async create(
    principal: Principal,
    orgId: string | undefined,
    input: { name: string; description?: string },
    term: WorkspaceTerm = 'workspace',
  ): Promise<Workspace> {
    const scoped = await this.orgs.scope(principal, orgId);
    return this.db.transaction(async () => {
      await this.orgs.reserveQuota(scoped, 'workspaces', () => this.store.count(scoped));
      let row: WorkspaceRow;
      try {
        row = await this.store.insert({ id: newId('ws'), orgId: scoped, name: input.name, description: input.description ?? '' });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(input.name, term);
        throw error;
      }
      if (principal.kind === 'user' && principal.userId) await this.store.setMember(row.id, principal.userId, 'admin');
      return toWorkspace(row);
    });
  }

  /** Archives or reactivates; setting the status it has changes nothing. */
  async setStatus(principal: Principal, workspaceId: string, status: WorkspaceStatus, term: WorkspaceTerm): Promise<Workspace> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.store.lockStatus(orgId, workspaceId);
    if (!old) throw workspaceNotFound(workspaceId, term);
    noteBefore({ status: old.status, archived_at: old.archived_at?.toISOString() ?? null });
    return toWorkspace(await this.store.setStatus(workspaceId, status));
  }

  async update(
    principal: Principal,
    orgId: string,
    workspaceId: string,
    input: { name: string; description?: string },
  ): Promise<Workspace> {
    const scoped = await this.orgs.scope(principal, orgId);
    const old = await this.store.lockNameAndDescription(scoped, workspaceId);
    if (old) noteBefore(old);
    try {
      const row = await this.store.update(scoped, workspaceId, input.name, input.description ?? null);
      if (!row) throw workspaceNotFound(workspaceId);
      return toWorkspace(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name);
      throw error;
    }
  }

  /**
   * Refuses, naming them, while agents or installations live in the workspace; with `force`
   * they go too (the foreign keys cascade to their tokens), in one transaction.
   */
  async delete(principal: Principal, orgId: string, workspaceId: string, force: boolean): Promise<void> {
    const scoped = await this.orgs.scope(principal, orgId);
    const { agents, installations } = this.contents();
    await this.db.transaction(async () => {
      const workspace = await this.store.lockForUpdate(scoped, workspaceId);
      if (!workspace) throw workspaceNotFound(workspaceId);
      noteBefore(workspace);
      if (!force) {
        const agentIds = await agents.idsIn(workspaceId, NAMED_DEPENDENTS);
        const installationIds = await installations.idsIn(workspaceId, NAMED_DEPENDENTS);
        const named = [
          ...(agentIds.length > 0 ? [`agents ${agentIds.join(', ')}`] : []),
          ...(installationIds.length > 0 ? [`installations ${installationIds.join(', ')}`] : []),
        ];
        if (named.length > 0) {
          throw new ConflictError(
            `The workspace still has ${named.join('; and ')}. Remove them, or delete with ?force=true.`,
            'WORKSPACE_NOT_EMPTY',
          );
        }
      }
      await agents.deleteIn(workspaceId);
      await this.store.delete(workspaceId);
    });
  }

  async members(principal: Principal, orgId: string, workspaceId: string, page: { limit: number; cursor?: string }) {
    const scoped = await this.orgs.scope(principal, orgId);
    await this.row(scoped, workspaceId);
    const rows = await this.store.members(workspaceId, decodeCursor(page.cursor), page.limit + 1);
    const result = pageOf(rows, page.limit);
    return { members: result.items.map(toMember), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  async setMember(principal: Principal, orgId: string, workspaceId: string, userId: string, role: WorkspaceRole): Promise<WorkspaceMember> {
    const scoped = await this.orgs.scope(principal, orgId);
    await this.row(scoped, workspaceId);
    const user = await this.users.get(scoped, userId);
    noteBefore((await this.store.lockMemberRole(workspaceId, userId)) ?? null);
    const row = await this.store.setMember(workspaceId, userId, role);
    return toMember({ ...row, email: user.email });
  }

  async removeMember(principal: Principal, orgId: string, workspaceId: string, userId: string): Promise<void> {
    const scoped = await this.orgs.scope(principal, orgId);
    await this.row(scoped, workspaceId);
    const membership = await this.store.removeMember(workspaceId, userId);
    if (!membership) throw new NotFoundError(`User '${userId}' is not a member of this workspace.`, 'MEMBER_NOT_FOUND');
    noteBefore(membership);
  }

  /** The workspace's policy ids, in evaluation order; 404 unless it belongs to the org. */
  async policyIdsOf(orgId: string, workspaceId: string): Promise<string[]> {
    const ids = await this.store.policyIdsOf(orgId, workspaceId);
    if (!ids) throw workspaceNotFound(workspaceId);
    return ids;
  }

  /** As policyIdsOf, with the workspace's row locked until the transaction ends. */
  async lockPolicyIds(orgId: string, workspaceId: string): Promise<string[]> {
    const ids = await this.store.lockPolicyIds(orgId, workspaceId);
    if (!ids) throw workspaceNotFound(workspaceId);
    return ids;
  }

  /** The caller has checked the ids (PolicyService.assertLive) and locked the workspace. */
  setPolicyIds(workspaceId: string, policyIds: string[]): Promise<void> {
    return this.store.setPolicyIds(workspaceId, policyIds);
  }

  /** Up to `limit` ids of the org's workspaces naming the policy, in id order. */
  idsNamingPolicy(orgId: string, policyId: string, limit: number): Promise<string[]> {
    return this.store.idsNamingPolicy(orgId, policyId, limit);
  }

  /** The org's workspaces stop naming the policy (it is being deleted). */
  forgetPolicy(orgId: string, policyId: string): Promise<void> {
    return this.store.forgetPolicy(orgId, policyId);
  }

  private async row(orgId: string, workspaceId: string, term: WorkspaceTerm = 'workspace'): Promise<WorkspaceRow> {
    const row = await this.store.find(orgId, workspaceId);
    if (!row) throw workspaceNotFound(workspaceId, term);
    return row;
  }
}
