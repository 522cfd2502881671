import type { Db } from '../../db/db';
import type { EntityManager } from 'typeorm';
import type { components } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import type { UserService } from '../users';
import { noteBefore } from '../../audit/audited-change';

type Workspace = components['schemas']['Workspace'];
type WorkspaceMember = components['schemas']['WorkspaceMember'];
type WorkspaceRole = components['schemas']['WorkspaceRole'];
interface WorkspaceRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  created_at: Date;
  updated_at: Date;
}
interface MemberRow {
  user_id: string;
  email: string;
  role: WorkspaceRole;
  added_at: Date;
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

export const workspaceNotFound = (id: string) => new NotFoundError(`No workspace '${id}' exists in this org.`, 'WORKSPACE_NOT_FOUND');
const nameTaken = (name: string) => new ConflictError(`A workspace named '${name}' already exists in this org.`, 'WORKSPACE_NAME_TAKEN');

/** 404 unless the workspace belongs to the org: other modules check workspaces they are handed this way. */
export async function assertWorkspaceInOrg(manager: EntityManager, orgId: string, workspaceId: string): Promise<void> {
  const [row] = await manager.query(`SELECT 1 FROM workspaces WHERE id = $1 AND org_id = $2`, [workspaceId, orgId]);
  if (!row) throw workspaceNotFound(workspaceId);
}

export class WorkspaceService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrgService,
    private readonly users: UserService,
  ) {}

  async list(principal: Principal, orgId: string, page: { limit: number; cursor?: string }) {
    const scoped = await this.orgs.scope(principal, orgId);
    const rows: WorkspaceRow[] = await this.db.untypedQuery(
      `SELECT * FROM workspaces WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [scoped, decodeCursor(page.cursor), page.limit + 1],
    );
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
    return this.db.transaction(async (manager) => {
      await this.orgs.reserveQuota(scoped, 'workspaces', async () => (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM workspaces WHERE org_id = $1`, [scoped])).rows[0]!.n);
      let row: WorkspaceRow;
      try {
        [row] = await manager.query(`INSERT INTO workspaces (id, org_id, name, description) VALUES ($1, $2, $3, $4) RETURNING *`, [
          newId('ws'),
          scoped,
          input.name,
          input.description ?? '',
        ]);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(input.name);
        throw error;
      }
      if (principal.kind === 'user' && principal.userId) {
        await manager.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'admin')`, [row.id, principal.userId]);
      }
      return toWorkspace(row);
    });
  }

  async update(principal: Principal, orgId: string, workspaceId: string, input: { name: string; description?: string }): Promise<Workspace> {
    const scoped = await this.orgs.scope(principal, orgId);
    const [old] = await this.db.untypedQuery(`SELECT name, description FROM workspaces WHERE id = $1 AND org_id = $2 FOR UPDATE`, [workspaceId, scoped]);
    if (old) noteBefore(old);
    try {
      const [rows] = await this.db.untypedQuery(
        `UPDATE workspaces SET name = $3, description = COALESCE($4, description), updated_at = now()
         WHERE id = $1 AND org_id = $2 RETURNING *`,
        [workspaceId, scoped, input.name, input.description ?? null],
      );
      if (!rows[0]) throw workspaceNotFound(workspaceId);
      return toWorkspace(rows[0]);
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
    await this.db.transaction(async (manager) => {
      const [workspace] = await manager.query(`SELECT id FROM workspaces WHERE id = $1 AND org_id = $2 FOR UPDATE`, [workspaceId, scoped]);
      if (!workspace) throw workspaceNotFound(workspaceId);
      if (!force) {
        const [dependents] = await manager.query(
          `SELECT (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM agents WHERE workspace_id = $1 LIMIT ${NAMED_DEPENDENTS}) a) AS agents,
                  (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM installations WHERE workspace_id = $1 LIMIT ${NAMED_DEPENDENTS}) i) AS installations`,
          [workspaceId],
        );
        const named = [
          ...(dependents.agents ? [`agents ${dependents.agents.join(', ')}`] : []),
          ...(dependents.installations ? [`installations ${dependents.installations.join(', ')}`] : []),
        ];
        if (named.length > 0) {
          throw new ConflictError(`The workspace still has ${named.join('; and ')}. Remove them, or delete with ?force=true.`, 'WORKSPACE_NOT_EMPTY');
        }
      }
      await manager.query(`DELETE FROM agents WHERE workspace_id = $1`, [workspaceId]);
      await manager.query(`DELETE FROM workspaces WHERE id = $1`, [workspaceId]);
    });
  }

  async members(principal: Principal, orgId: string, workspaceId: string, page: { limit: number; cursor?: string }) {
    const scoped = await this.orgs.scope(principal, orgId);
    await this.row(scoped, workspaceId);
    const rows: Array<MemberRow & { id: string }> = await this.db.untypedQuery(
      `SELECT m.user_id AS id, m.user_id, u.email, m.role, m.added_at FROM workspace_members m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = $1 AND ($2::text IS NULL OR m.user_id > $2) ORDER BY m.user_id LIMIT $3`,
      [workspaceId, decodeCursor(page.cursor), page.limit + 1],
    );
    const result = pageOf(rows, page.limit);
    return { members: result.items.map(toMember), has_more: result.has_more, next_cursor: result.next_cursor };
  }

  async setMember(principal: Principal, orgId: string, workspaceId: string, userId: string, role: WorkspaceRole): Promise<WorkspaceMember> {
    const scoped = await this.orgs.scope(principal, orgId);
    await this.row(scoped, workspaceId);
    const user = await this.users.get(scoped, userId);
    const [old] = await this.db.untypedQuery(`SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE`, [workspaceId, userId]);
    noteBefore(old ?? null);
    const [row] = await this.db.untypedQuery(
      `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role
       RETURNING user_id, role, added_at`,
      [workspaceId, userId, role],
    );
    return toMember({ ...row, email: user.email });
  }

  async removeMember(principal: Principal, orgId: string, workspaceId: string, userId: string): Promise<void> {
    const scoped = await this.orgs.scope(principal, orgId);
    await this.row(scoped, workspaceId);
    const [, deleted] = await this.db.untypedQuery(`DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2`, [
      workspaceId,
      userId,
    ]);
    if (deleted === 0) throw new NotFoundError(`User '${userId}' is not a member of this workspace.`, 'MEMBER_NOT_FOUND');
  }

  private async row(orgId: string, workspaceId: string): Promise<WorkspaceRow> {
    const [row] = await this.db.untypedQuery(`SELECT * FROM workspaces WHERE id = $1 AND org_id = $2`, [workspaceId, orgId]);
    if (!row) throw workspaceNotFound(workspaceId);
    return row;
  }
}
