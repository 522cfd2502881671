import type { Db } from '../../db/db';
import type { components } from '../../../generated/api';
import { BUILT_IN_ROLES, builtInRole, type BuiltInRole } from '../../auth/permissions';
import type { Principal } from '../../auth/principal';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import type { UserService } from '../users';
import { assertCanGrant, assertOrgPermissions } from './grants';
import { noteBefore } from '../../audit/audited-change';
import { keepingAnOwner } from './owners';

type Role = components['schemas']['Role'];
type UserRole = components['schemas']['UserRole'];
interface RoleRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  permissions: string[];
  created_at: Date;
}
interface UserRoleRow {
  id: string;
  user_id: string;
  role_id: string;
  role_name: string | null;
  created_at: Date;
}

const fromBuiltIn = (role: BuiltInRole): Role => ({
  id: role.id,
  org_id: null,
  name: role.name,
  description: role.description,
  built_in: true,
  permissions: [...role.permissions],
  created_at: null,
});
const toRole = (row: RoleRow): Role => ({
  id: row.id,
  org_id: row.org_id,
  name: row.name,
  description: row.description,
  built_in: false,
  permissions: row.permissions,
  created_at: row.created_at.toISOString(),
});
const toUserRole = (row: UserRoleRow): UserRole => ({
  id: row.id,
  user_id: row.user_id,
  role_id: row.role_id,
  role_name: builtInRole(row.role_id)?.name ?? row.role_name ?? row.role_id,
  created_at: row.created_at.toISOString(),
});

const roleNotFound = (roleId: string) => new NotFoundError(`No role '${roleId}' exists in this org.`, 'ROLE_NOT_FOUND');
const builtInIsFixed = (role: BuiltInRole) =>
  new ConflictError(`The built-in role '${role.name}' cannot be changed or deleted; create a custom role instead.`, 'ROLE_BUILT_IN');

export class RbacService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrgService,
    private readonly users: UserService,
  ) {}

  async listRoles(principal: Principal): Promise<Role[]> {
    const orgId = await this.orgs.scope(principal);
    const rows: RoleRow[] = await this.db.untypedQuery(`SELECT * FROM roles WHERE org_id = $1 ORDER BY id`, [orgId]);
    return [...BUILT_IN_ROLES.map(fromBuiltIn), ...rows.map(toRole)];
  }

  async getRole(principal: Principal, roleId: string): Promise<Role> {
    const orgId = await this.orgs.scope(principal);
    const builtIn = builtInRole(roleId);
    if (builtIn) return fromBuiltIn(builtIn);
    const [row] = await this.db.untypedQuery(`SELECT * FROM roles WHERE id = $1 AND org_id = $2`, [roleId, orgId]);
    if (!row) throw roleNotFound(roleId);
    return toRole(row);
  }

  async createRole(principal: Principal, input: { name: string; description?: string; permissions: string[] }): Promise<Role> {
    const orgId = await this.orgs.scope(principal);
    assertOrgPermissions(input.permissions);
    assertCanGrant(principal, input.permissions, `the role '${input.name}'`);
    if (builtInRole(input.name)) throw new ConflictError(`'${input.name}' is the name of a built-in role.`, 'ROLE_NAME_TAKEN');
    try {
      const [row] = await this.db.untypedQuery(
        `INSERT INTO roles (id, org_id, name, description, permissions) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [newId('rol'), orgId, input.name, input.description ?? '', input.permissions],
      );
      return toRole(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`A role named '${input.name}' already exists.`, 'ROLE_NAME_TAKEN');
      throw error;
    }
  }

  async setRolePermissions(principal: Principal, roleId: string, permissions: string[]): Promise<Role> {
    const orgId = await this.orgs.scope(principal);
    const builtIn = builtInRole(roleId);
    if (builtIn) throw builtInIsFixed(builtIn);
    assertOrgPermissions(permissions);
    assertCanGrant(principal, permissions, 'these permissions');
    return keepingAnOwner(this.db, orgId, `Taking these permissions from role '${roleId}'`, async (manager) => {
      const [old] = await manager.query(`SELECT permissions FROM roles WHERE id = $1 AND org_id = $2 FOR UPDATE`, [roleId, orgId]);
      if (old) noteBefore(old);
      const [rows] = await manager.query(`UPDATE roles SET permissions = $3 WHERE id = $1 AND org_id = $2 RETURNING *`, [
        roleId,
        orgId,
        permissions,
      ]);
      if (!rows[0]) throw roleNotFound(roleId);
      return toRole(rows[0]);
    });
  }

  async deleteRole(principal: Principal, roleId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    const builtIn = builtInRole(roleId);
    if (builtIn) throw builtInIsFixed(builtIn);
    await keepingAnOwner(this.db, orgId, `Deleting role '${roleId}'`, async (manager) => {
      const [, deleted] = await manager.query(`DELETE FROM roles WHERE id = $1 AND org_id = $2`, [roleId, orgId]);
      if (deleted === 0) throw roleNotFound(roleId);
      await manager.query(`DELETE FROM user_roles WHERE role_id = $1 AND org_id = $2`, [roleId, orgId]);
    });
  }

  async assign(principal: Principal, input: { user_id: string; role_id: string }): Promise<UserRole> {
    const orgId = await this.orgs.scope(principal);
    await this.users.get(orgId, input.user_id);
    const role = await this.getRole(principal, input.role_id);
    assertCanGrant(principal, role.permissions, `the role '${role.name}'`);
    try {
      const [row] = await this.db.untypedQuery(
        `INSERT INTO user_roles (id, org_id, user_id, role_id) VALUES ($1, $2, $3, $4) RETURNING *, $5::text AS role_name`,
        [newId('ura'), orgId, input.user_id, input.role_id, role.name],
      );
      return toUserRole(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`The user already holds the role '${role.name}'.`, 'ROLE_ALREADY_ASSIGNED');
      throw error;
    }
  }

  async listAssignments(principal: Principal, query: { user_id?: string; role_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows: UserRoleRow[] = await this.db.untypedQuery(
      `SELECT ur.*, r.name AS role_name FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id
       WHERE ur.org_id = $1 AND ($2::text IS NULL OR ur.user_id = $2) AND ($3::text IS NULL OR ur.role_id = $3)
         AND ($4::text IS NULL OR ur.id < $4)
       ORDER BY ur.id DESC LIMIT $5`,
      [orgId, query.user_id ?? null, query.role_id ?? null, decodeCursor(query.cursor), query.limit + 1],
    );
    const page = pageOf(rows, query.limit);
    return { user_roles: page.items.map(toUserRole), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async removeAssignment(principal: Principal, assignmentId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    await keepingAnOwner(this.db, orgId, `Removing role assignment '${assignmentId}'`, async (manager) => {
      const [, deleted] = await manager.query(`DELETE FROM user_roles WHERE id = $1 AND org_id = $2`, [assignmentId, orgId]);
      if (deleted === 0) throw new NotFoundError(`No role assignment '${assignmentId}' exists in this org.`, 'USER_ROLE_NOT_FOUND');
    });
  }

  /** The user's built-in role, then each role assigned to them. */
  async rolesOfUser(principal: Principal, userId: string): Promise<Role[]> {
    const orgId = await this.orgs.scope(principal);
    const user = await this.users.get(orgId, userId);
    const rows: Array<RoleRow & { role_id: string }> = await this.db.untypedQuery(
      `SELECT ur.role_id, r.* FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY ur.id`,
      [userId],
    );
    return [
      fromBuiltIn(builtInRole(user.role)!),
      ...rows.map((row) => {
        const builtIn = builtInRole(row.role_id);
        return builtIn ? fromBuiltIn(builtIn) : toRole(row);
      }),
    ];
  }
}
