import type { RoleAssignment } from '../../auth/permissions';
import type { Db } from '../../db/db';

export interface RoleRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  permissions: string[];
  created_at: Date;
}

export interface UserRoleRow {
  id: string;
  org_id: string;
  user_id: string;
  role_id: string;
  created_at: Date;
}

/** An assignment with the name of its role (null for a built-in role, which has no row). */
export type NamedUserRoleRow = UserRoleRow & { role_name: string | null };

/** Every SQL statement on `roles` and `user_roles`. */
export class RbacStore {
  constructor(private readonly db: Db) {}

  async listRoles(orgId: string): Promise<RoleRow[]> {
    const { rows } = await this.db.query<RoleRow>(`SELECT * FROM roles WHERE org_id = $1 ORDER BY id`, [orgId]);
    return rows;
  }

  async findRole(orgId: string, roleId: string): Promise<RoleRow | undefined> {
    const { rows } = await this.db.query<RoleRow>(`SELECT * FROM roles WHERE id = $1 AND org_id = $2`, [roleId, orgId]);
    return rows[0];
  }

  async insertRole(role: Omit<RoleRow, 'created_at'>): Promise<RoleRow> {
    const { rows } = await this.db.query<RoleRow>(
      `INSERT INTO roles (id, org_id, name, description, permissions) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [role.id, role.org_id, role.name, role.description, role.permissions],
    );
    return rows[0]!;
  }

  async lockRolePermissions(orgId: string, roleId: string): Promise<{ name: string; permissions: string[] } | undefined> {
    const { rows } = await this.db.query<{ name: string; permissions: string[] }>(
      `SELECT name, permissions FROM roles WHERE id = $1 AND org_id = $2 FOR UPDATE`,
      [roleId, orgId],
    );
    return rows[0];
  }

  async setRolePermissions(orgId: string, roleId: string, permissions: string[]): Promise<RoleRow | undefined> {
    const { rows } = await this.db.query<RoleRow>(`UPDATE roles SET permissions = $3 WHERE id = $1 AND org_id = $2 RETURNING *`, [
      roleId,
      orgId,
      permissions,
    ]);
    return rows[0];
  }

  /** Deletes the role and its assignments; false when the org has no such role. */
  /** The role as it was, its assignments gone with it; undefined when the org has no such role. */
  async deleteRole(orgId: string, roleId: string): Promise<RoleRow | undefined> {
    const { rows } = await this.db.query<RoleRow>(`DELETE FROM roles WHERE id = $1 AND org_id = $2 RETURNING *`, [roleId, orgId]);
    if (rows.length === 0) return undefined;
    await this.db.query(`DELETE FROM user_roles WHERE role_id = $1 AND org_id = $2`, [roleId, orgId]);
    return rows[0];
  }

  async insertAssignment(assignment: Omit<UserRoleRow, 'created_at'>, roleName: string): Promise<NamedUserRoleRow> {
    const { rows } = await this.db.query<NamedUserRoleRow>(
      `INSERT INTO user_roles (id, org_id, user_id, role_id) VALUES ($1, $2, $3, $4) RETURNING *, $5::text AS role_name`,
      [assignment.id, assignment.org_id, assignment.user_id, assignment.role_id, roleName],
    );
    return rows[0]!;
  }

  async listAssignments(
    orgId: string,
    filter: { userId: string | null; roleId: string | null },
    after: string | null,
    limit: number,
  ): Promise<NamedUserRoleRow[]> {
    const { rows } = await this.db.query<NamedUserRoleRow>(
      `SELECT ur.*, r.name AS role_name FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id
       WHERE ur.org_id = $1 AND ($2::text IS NULL OR ur.user_id = $2) AND ($3::text IS NULL OR ur.role_id = $3)
         AND ($4::text IS NULL OR ur.id < $4)
       ORDER BY ur.id DESC LIMIT $5`,
      [orgId, filter.userId, filter.roleId, after, limit],
    );
    return rows;
  }

  /** False when the org has no such assignment. */
  /** The assignment as it was; undefined when the org has no such assignment. */
  async deleteAssignment(orgId: string, assignmentId: string): Promise<Pick<UserRoleRow, 'user_id' | 'role_id'> | undefined> {
    const { rows } = await this.db.query<Pick<UserRoleRow, 'user_id' | 'role_id'>>(
      `DELETE FROM user_roles WHERE id = $1 AND org_id = $2 RETURNING user_id, role_id`,
      [assignmentId, orgId],
    );
    return rows[0];
  }

  /** The user's assigned roles in assignment order; a built-in role has no row, so its name and permissions are null. */
  async rolesOfUser(userId: string): Promise<Array<RoleRow & { role_id: string }>> {
    const { rows } = await this.db.query<RoleRow & { role_id: string }>(
      `SELECT ur.role_id, r.* FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY ur.id`,
      [userId],
    );
    return rows;
  }

  async assignmentsOf(userId: string): Promise<RoleAssignment[]> {
    const { rows } = await this.db.query<RoleAssignment>(
      `SELECT ur.role_id, r.name, r.permissions FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id
       WHERE ur.user_id = $1 ORDER BY ur.id`,
      [userId],
    );
    return rows;
  }

  /**
   * Who can still exercise `permission` in the org: users holding it through their built-in role
   * (one of `roleNames`) or an assigned role (one of `roleIds`, or a custom role granting it),
   * and live keys made without a creating user (first start, the admin script), which are bounded
   * by the owner role. A key a user created holds it only while its creator does, so it is
   * counted through the user.
   */
  async countHolders(orgId: string, roleNames: string[], roleIds: string[], permission: string): Promise<number> {
    const { rows } = await this.db.query<{ users: number; keys: number }>(
      `SELECT
        (SELECT count(*)::int FROM users u WHERE u.org_id = $1 AND (u.role = ANY ($2::text[]) OR EXISTS (
           SELECT 1 FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id
           WHERE ur.user_id = u.id AND (ur.role_id = ANY ($3::text[]) OR $4 = ANY (r.permissions))))) AS users,
        (SELECT count(*)::int FROM api_keys k WHERE k.org_id = $1 AND k.created_by IS NULL AND k.revoked_at IS NULL
           AND k.expires_at > now() AND $4 = ANY (k.permissions)) AS keys`,
      [orgId, roleNames, roleIds, permission],
    );
    return rows[0]!.users + rows[0]!.keys;
  }

  /** The emails of up to `limit` users of the org who hold `permission`, through their built-in role or an assigned one. */
  async holderEmails(orgId: string, roleNames: string[], roleIds: string[], permission: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ email: string }>(
      `SELECT u.email FROM users u WHERE u.org_id = $1 AND (u.role = ANY ($2::text[]) OR EXISTS (
         SELECT 1 FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id
         WHERE ur.user_id = u.id AND (ur.role_id = ANY ($3::text[]) OR $4 = ANY (r.permissions))))
       ORDER BY u.id LIMIT $5`,
      [orgId, roleNames, roleIds, permission, limit],
    );
    return rows.map((row) => row.email);
  }
}
