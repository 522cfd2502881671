import type { components } from '../../../generated/api';
import type { Db } from '../../db/db';

type WorkspaceRole = components['schemas']['WorkspaceRole'];
export type WorkspaceStatus = components['schemas']['WorkspaceStatus'];

export interface WorkspaceRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  status: WorkspaceStatus;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** What an access request names, read in one statement (WorkspaceService.projectForRequest). */
export interface RequestPlaceRow {
  project_name: string;
  status: WorkspaceStatus;
  environment_name: string | null;
}

export interface MemberRow {
  user_id: string;
  email: string;
  role: WorkspaceRole;
  added_at: Date;
}

/** Every SQL statement on `workspaces` and `workspace_members`. */
export class WorkspaceStore {
  constructor(private readonly db: Db) {}

  async find(orgId: string, workspaceId: string): Promise<WorkspaceRow | undefined> {
    // Prepared (the authenticated GET), so the columns are named: a `*` would fail once a migration adds one.
    const { rows } = await this.db.query<WorkspaceRow>(
      `SELECT id, org_id, name, description, status, archived_at, created_at, updated_at FROM workspaces WHERE id = $1 AND org_id = $2`,
      [workspaceId, orgId],
      { prepared: true },
    );
    return rows[0];
  }

  async exists(orgId: string, workspaceId: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM workspaces WHERE id = $1 AND org_id = $2`, [workspaceId, orgId]);
    return rows.length > 0;
  }

  /** Newest first, from before the cursor id, of one status or any; one more than `limit` tells whether there is more. */
  async list(orgId: string, status: WorkspaceStatus | null, beforeId: string | null, limit: number): Promise<WorkspaceRow[]> {
    const { rows } = await this.db.query<WorkspaceRow>(
      `SELECT * FROM workspaces WHERE org_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [orgId, status, beforeId, limit],
    );
    return rows;
  }

  /** The status, under a share lock: the workspace is not archived before the caller's transaction ends. */
  async shareLockStatus(orgId: string, workspaceId: string): Promise<WorkspaceStatus | undefined> {
    const { rows } = await this.db.query<{ status: WorkspaceStatus }>(
      `SELECT status FROM workspaces WHERE id = $1 AND org_id = $2 FOR SHARE`,
      [workspaceId, orgId],
    );
    return rows[0]?.status;
  }

  async lockStatus(orgId: string, workspaceId: string): Promise<Pick<WorkspaceRow, 'status' | 'archived_at'> | undefined> {
    const { rows } = await this.db.query<Pick<WorkspaceRow, 'status' | 'archived_at'>>(
      `SELECT status, archived_at FROM workspaces WHERE id = $1 AND org_id = $2 FOR UPDATE`,
      [workspaceId, orgId],
    );
    return rows[0];
  }

  /** A status it already has changes nothing (archived_at keeps the first archiving); the caller holds the row lock. */
  async setStatus(workspaceId: string, status: WorkspaceStatus): Promise<WorkspaceRow> {
    const { rows } = await this.db.query<WorkspaceRow>(
      `UPDATE workspaces SET status = $2,
         archived_at = CASE WHEN $2 = 'active' THEN NULL WHEN status = 'archived' THEN archived_at ELSE now() END,
         updated_at = CASE WHEN status = $2 THEN updated_at ELSE now() END
       WHERE id = $1 RETURNING *`,
      [workspaceId, status],
    );
    return rows[0]!;
  }

  /**
   * The project's name and status and, when it is one of the project's, the environment's name;
   * the workspace share-locked so it is not archived under a request being made. Undefined when
   * the org has no such workspace.
   */
  async requestPlace(orgId: string, workspaceId: string, environmentId: string): Promise<RequestPlaceRow | undefined> {
    const { rows } = await this.db.query<RequestPlaceRow>(
      `SELECT w.name AS project_name, w.status, e.name AS environment_name
       FROM workspaces w LEFT JOIN environments e ON e.workspace_id = w.id AND e.id = $3
       WHERE w.id = $1 AND w.org_id = $2 FOR SHARE OF w`,
      [workspaceId, orgId, environmentId],
    );
    return rows[0];
  }

  async count(orgId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM workspaces WHERE org_id = $1`, [orgId]);
    return rows[0]!.n;
  }

  async insert(workspace: { id: string; orgId: string; name: string; description: string }): Promise<WorkspaceRow> {
    const { rows } = await this.db.query<WorkspaceRow>(
      `INSERT INTO workspaces (id, org_id, name, description) VALUES ($1, $2, $3, $4) RETURNING *`,
      [workspace.id, workspace.orgId, workspace.name, workspace.description],
    );
    return rows[0]!;
  }

  async lockNameAndDescription(orgId: string, workspaceId: string): Promise<{ name: string; description: string } | undefined> {
    const { rows } = await this.db.query<{ name: string; description: string }>(
      `SELECT name, description FROM workspaces WHERE id = $1 AND org_id = $2 FOR UPDATE`,
      [workspaceId, orgId],
    );
    return rows[0];
  }

  /** A null description keeps the current one; undefined when the org has no such workspace. */
  async update(orgId: string, workspaceId: string, name: string, description: string | null): Promise<WorkspaceRow | undefined> {
    const { rows } = await this.db.query<WorkspaceRow>(
      `UPDATE workspaces SET name = $3, description = COALESCE($4, description), updated_at = now()
       WHERE id = $1 AND org_id = $2 RETURNING *`,
      [workspaceId, orgId, name, description],
    );
    return rows[0];
  }

  async lockForUpdate(orgId: string, workspaceId: string): Promise<Pick<WorkspaceRow, 'name' | 'description'> | undefined> {
    const { rows } = await this.db.query<Pick<WorkspaceRow, 'name' | 'description'>>(
      `SELECT name, description FROM workspaces WHERE id = $1 AND org_id = $2 FOR UPDATE`,
      [workspaceId, orgId],
    );
    return rows[0];
  }

  async delete(workspaceId: string): Promise<void> {
    await this.db.query(`DELETE FROM workspaces WHERE id = $1`, [workspaceId]);
  }

  /** In user id order, from after the cursor id; one more than `limit` tells whether there is more. */
  async members(workspaceId: string, afterUserId: string | null, limit: number): Promise<Array<MemberRow & { id: string }>> {
    const { rows } = await this.db.query<MemberRow & { id: string }>(
      `SELECT m.user_id AS id, m.user_id, u.email, m.role, m.added_at FROM workspace_members m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = $1 AND ($2::text IS NULL OR m.user_id > $2) ORDER BY m.user_id LIMIT $3`,
      [workspaceId, afterUserId, limit],
    );
    return rows;
  }

  async lockMemberRole(workspaceId: string, userId: string): Promise<{ role: WorkspaceRole } | undefined> {
    const { rows } = await this.db.query<{ role: WorkspaceRole }>(
      `SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE`,
      [workspaceId, userId],
    );
    return rows[0];
  }

  async setMember(workspaceId: string, userId: string, role: WorkspaceRole): Promise<Omit<MemberRow, 'email'>> {
    const { rows } = await this.db.query<Omit<MemberRow, 'email'>>(
      `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role
       RETURNING user_id, role, added_at`,
      [workspaceId, userId, role],
    );
    return rows[0]!;
  }

  /** The membership as it was; undefined when there was none. */
  async removeMember(workspaceId: string, userId: string): Promise<{ role: WorkspaceRole } | undefined> {
    const { rows } = await this.db.query<{ role: WorkspaceRole }>(
      `DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 RETURNING role`,
      [workspaceId, userId],
    );
    return rows[0];
  }

  /** The workspace's policy ids in order; undefined when the org has no such workspace. */
  async policyIdsOf(orgId: string, workspaceId: string): Promise<string[] | undefined> {
    const { rows } = await this.db.query<{ policy_ids: string[] }>(`SELECT policy_ids FROM workspaces WHERE id = $1 AND org_id = $2`, [
      workspaceId,
      orgId,
    ]);
    return rows[0]?.policy_ids;
  }

  async lockPolicyIds(orgId: string, workspaceId: string): Promise<string[] | undefined> {
    const { rows } = await this.db.query<{ policy_ids: string[] }>(
      `SELECT policy_ids FROM workspaces WHERE id = $1 AND org_id = $2 FOR UPDATE`,
      [workspaceId, orgId],
    );
    return rows[0]?.policy_ids;
  }

  async setPolicyIds(workspaceId: string, policyIds: string[]): Promise<void> {
    await this.db.query(`UPDATE workspaces SET policy_ids = $2, updated_at = now() WHERE id = $1`, [workspaceId, policyIds]);
  }

  /** Up to `limit` ids of the org's workspaces naming the policy, in id order. */
  async idsNamingPolicy(orgId: string, policyId: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM workspaces WHERE org_id = $1 AND policy_ids @> ARRAY[$2]::text[] ORDER BY id LIMIT $3`,
      [orgId, policyId, limit],
    );
    return rows.map((row) => row.id);
  }

  async forgetPolicy(orgId: string, policyId: string): Promise<void> {
    await this.db.query(
      `UPDATE workspaces SET policy_ids = array_remove(policy_ids, $2) WHERE org_id = $1 AND policy_ids @> ARRAY[$2]::text[]`,
      [orgId, policyId],
    );
  }
}
