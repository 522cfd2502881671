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
import { type MemberRow, type WorkspaceRow, WorkspaceStore } from './workspace-store';

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

const workspaceNotFound = (id: string) => new NotFoundError(`No workspace '${id}' exists in this org.`, 'WORKSPACE_NOT_FOUND');
const nameTaken = (name: string) => new ConflictError(`A workspace named '${name}' already exists in this org.`, 'WORKSPACE_NAME_TAKEN');

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
  async assertInOrg(orgId: string, workspaceId: string): Promise<void> {
    if (!(await this.store.exists(orgId, workspaceId))) throw workspaceNotFound(workspaceId);
  }

  async list(principal: Principal, orgId: string, page: { limit: number; cursor?: string }) {
    const scoped = await this.orgs.scope(principal, orgId);
    const rows = await this.store.list(scoped, decodeCursor(page.cursor), page.limit + 1);
    const result = pageOf(rows, page.limit);
    return { workspaces: result.items.map(toWorkspace), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  async get(principal: Principal, orgId: string, workspaceId: string): Promise<Workspace> {
    const scoped = await this.orgs.scope(principal, orgId);
    return toWorkspace(await this.row(scoped, workspaceId));
  }

  /** Creates the workspace, counted against the plan's quota; a user creating it becomes its admin. */
  async create(principal: Principal, orgId: string, input: { name: string; description?: string }): Promise<Workspace> {
    const scoped = await this.orgs.scope(principal, orgId);
    return this.db.transaction(async () => {
      await this.orgs.reserveQuota(scoped, 'workspaces', () => this.store.count(scoped));
      let row: WorkspaceRow;
      try {
        row = await this.store.insert({ id: newId('ws'), orgId: scoped, name: input.name, description: input.description ?? '' });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(input.name);
        throw error;
      }
      if (principal.kind === 'user' && principal.userId) await this.store.setMember(row.id, principal.userId, 'admin');
      return toWorkspace(row);
    });
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

  private async row(orgId: string, workspaceId: string): Promise<WorkspaceRow> {
    const row = await this.store.find(orgId, workspaceId);
    if (!row) throw workspaceNotFound(workspaceId);
    return row;
  }
}
