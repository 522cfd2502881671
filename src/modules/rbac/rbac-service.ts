import type { components } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import { BUILT_IN_ROLES, type BuiltInRole, builtInRole } from '../../auth/permissions';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import type { UserService } from '../users';
import { type DecisionRoleSources, DecisionRoles } from './decision-roles';
import { assertCanGrant, assertCanGrantToPeople, assertCanTakeAway, assertOrgPermissions } from './grants';
import type { OwnerGuard } from './owners';
import { type NamedUserRoleRow, RbacStore, type RoleRow } from './rbac-store';

type Role = components['schemas']['Role'];
type UserRole = components['schemas']['UserRole'];

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
const toUserRole = (row: NamedUserRoleRow): UserRole => ({
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
  private readonly store: RbacStore;
  private readonly decisionRoles: DecisionRoles;

  constructor(
    db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly users: Pick<UserService, 'get'>,
    private readonly owners: Pick<OwnerGuard, 'keepingAnOwner'>,
    decisionRoleSources: () => DecisionRoleSources,
  ) {
    this.store = new RbacStore(db);
    this.decisionRoles = new DecisionRoles(decisionRoleSources);
  }

  /** Who to tell about something only holders of `permission` may act on: their emails, at most `limit`. */
  async emailsOfHolders(orgId: string, permission: string, limit: number): Promise<string[]> {
    const roles = BUILT_IN_ROLES.filter((role) => role.permissions.includes(permission));
    return this.store.holderEmails(
      orgId,
      roles.map((role) => role.name),
      roles.map((role) => role.id),
      permission,
      limit,
    );
  }

  /** Those of the names that are neither a built-in role nor one of the org's custom roles (workflows name approver roles). */
  async unknownRoleNames(orgId: string, names: string[]): Promise<string[]> {
    const unknown = names.filter((name) => !BUILT_IN_ROLES.some((role) => role.name === name));
    if (unknown.length === 0) return [];
    const custom = new Set((await this.store.listRoles(orgId)).map((row) => row.name));
    return unknown.filter((name) => !custom.has(name));
  }

  async listRoles(principal: Principal): Promise<Role[]> {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.listRoles(orgId);
    return [...BUILT_IN_ROLES.map(fromBuiltIn), ...rows.map(toRole)];
  }

  async getRole(principal: Principal, roleId: string): Promise<Role> {
    return this.roleIn(await this.orgs.scope(principal), roleId);
  }

  private async roleIn(orgId: string, roleId: string): Promise<Role> {
    const builtIn = builtInRole(roleId);
    if (builtIn) return fromBuiltIn(builtIn);
    const row = await this.store.findRole(orgId, roleId);
    if (!row) throw roleNotFound(roleId);
    return toRole(row);
  }

  async createRole(principal: Principal, input: { name: string; description?: string; permissions: string[] }): Promise<Role> {
    const orgId = await this.orgs.scope(principal);
    assertOrgPermissions(input.permissions);
    assertCanGrantToPeople(principal, input.permissions, `the role '${input.name}'`);
    if (builtInRole(input.name)) throw new ConflictError(`'${input.name}' is the name of a built-in role.`, 'ROLE_NAME_TAKEN');
    // A workflow may still name a role that was deleted: whoever creates its namesake makes its holders approvers.
    await this.decisionRoles.assertOwnerFor(principal, orgId, input.name, `create the role '${input.name}'`, {
      location: 'body',
      field: 'name',
    });
    try {
      const row = await this.store.insertRole({
        id: newId('rol'),
        org_id: orgId,
        name: input.name,
        description: input.description ?? '',
        permissions: input.permissions,
      });
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
    return this.owners.keepingAnOwner(orgId, `Taking these permissions from role '${roleId}'`, async () => {
      const old = await this.store.lockRolePermissions(orgId, roleId);
      if (old) {
        await this.decisionRoles.assertOwnerFor(principal, orgId, old.name, `change the permissions of role '${old.name}'`, {
          location: 'path',
          field: 'id',
        });
        noteBefore({ permissions: old.permissions });
        // What the role's holders gain: an owner-only permission the role already has is kept, not granted anew.
        const had = new Set(old.permissions);
        assertCanGrantToPeople(
          principal,
          permissions.filter((permission) => !had.has(permission)),
          `role '${roleId}' these permissions`,
        );
        const kept = new Set(permissions);
        assertCanTakeAway(
          principal,
          old.permissions.filter((permission) => !kept.has(permission)),
          `permissions from role '${roleId}'`,
        );
      }
      const row = await this.store.setRolePermissions(orgId, roleId, permissions);
      if (!row) throw roleNotFound(roleId);
      return toRole(row);
    });
  }

  async deleteRole(principal: Principal, roleId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    const builtIn = builtInRole(roleId);
    if (builtIn) throw builtInIsFixed(builtIn);
    await this.owners.keepingAnOwner(orgId, `Deleting role '${roleId}'`, async () => {
      const deleted = await this.store.deleteRole(orgId, roleId);
      if (!deleted) throw roleNotFound(roleId);
      // Refusals roll the deletion back: the transaction ends with the throw.
      await this.decisionRoles.assertOwnerFor(principal, orgId, deleted.name, `delete the role '${deleted.name}'`, {
        location: 'path',
        field: 'id',
      });
      assertCanTakeAway(principal, deleted.permissions, `the role '${deleted.name}' from its holders`);
      noteBefore({ name: deleted.name, description: deleted.description, permissions: deleted.permissions });
    });
  }

  async assign(principal: Principal, input: { user_id: string; role_id: string }): Promise<UserRole> {
    const orgId = await this.orgs.scope(principal);
    await this.users.get(orgId, input.user_id);
    const role = await this.roleIn(orgId, input.role_id);
    assertCanGrantToPeople(principal, role.permissions, `the role '${role.name}'`);
    await this.decisionRoles.assertOwnerFor(principal, orgId, role.name, `assign the role '${role.name}'`, {
      location: 'body',
      field: 'role_id',
    });
    try {
      const row = await this.store.insertAssignment(
        { id: newId('ura'), org_id: orgId, user_id: input.user_id, role_id: input.role_id },
        role.name,
      );
      return toUserRole(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`The user already holds the role '${role.name}'.`, 'ROLE_ALREADY_ASSIGNED');
      throw error;
    }
  }

  async listAssignments(principal: Principal, query: { user_id?: string; role_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.listAssignments(
      orgId,
      { userId: query.user_id ?? null, roleId: query.role_id ?? null },
      decodeCursor(query.cursor),
      query.limit + 1,
    );
    const page = pageOf(rows, query.limit);
    return { user_roles: page.items.map(toUserRole), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async removeAssignment(principal: Principal, assignmentId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    await this.owners.keepingAnOwner(orgId, `Removing role assignment '${assignmentId}'`, async () => {
      const deleted = await this.store.deleteAssignment(orgId, assignmentId);
      if (!deleted) throw new NotFoundError(`No role assignment '${assignmentId}' exists in this org.`, 'USER_ROLE_NOT_FOUND');
      const role = await this.roleIn(orgId, deleted.role_id);
      await this.decisionRoles.assertOwnerFor(principal, orgId, role.name, `remove the role '${role.name}' from a user`, {
        location: 'path',
        field: 'id',
      });
      assertCanTakeAway(principal, role.permissions, `the role '${role.name}'`);
      noteBefore(deleted);
    });
  }

  /** The user's built-in role, then each role assigned to them. */
  async rolesOfUser(principal: Principal, userId: string): Promise<Role[]> {
    const orgId = await this.orgs.scope(principal);
    const user = await this.users.get(orgId, userId);
    const rows = await this.store.rolesOfUser(userId);
    return [
      fromBuiltIn(builtInRole(user.role)!),
      ...rows.map((row) => {
        const builtIn = builtInRole(row.role_id);
        return builtIn ? fromBuiltIn(builtIn) : toRole(row);
      }),
    ];
  }
}
