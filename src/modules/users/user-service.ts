import type { Db } from '../../db/db';
import type { components } from '../../../generated/api';
import { hashPassword } from '../../auth/credentials';
import { assertCanGrant } from '../rbac';
import { builtInRole } from '../../auth/permissions';
import type { Principal } from '../../auth/principal';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, ForbiddenError, NotFoundError } from '../../errors/api-error';
import { ASSIGNED_ROLES_SQL, rolesAndPermissions, type RoleAssignment } from '../../auth/authenticator';
import { noteBefore } from '../../audit/audited-change';
import { keepingAnOwner } from '../rbac';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import type { OrgService } from '../orgs';

type User = components['schemas']['User'];
type BuiltInRoleName = components['schemas']['BuiltInRoleName'];
export interface UserRow {
  id: string;
  org_id: string;
  email: string;
  role: BuiltInRoleName;
  email_verified_at: Date | null;
  created_at: Date;
  last_login_at: Date | null;
}

export const USER_COLUMNS = 'id, org_id, email, role, email_verified_at, created_at, last_login_at';

export const toUser = (row: UserRow): User => ({
  id: row.id,
  org_id: row.org_id,
  email: row.email,
  role: row.role,
  email_verified: row.email_verified_at !== null,
  email_verified_at: row.email_verified_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
  last_login_at: row.last_login_at?.toISOString() ?? null,
});

export class UserService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrgService,
  ) {}

  async list(principal: Principal, query: { org_id?: string; limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal, query.org_id);
    const rows: UserRow[] = await this.db.untypedQuery(
      `SELECT ${USER_COLUMNS} FROM users WHERE org_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [orgId, decodeCursor(query.cursor), query.limit + 1],
    );
    const page = pageOf(rows, query.limit);
    return { users: page.items.map(toUser), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** A user of the org, or 404 (a user of another org is reported the same way). */
  async get(orgId: string, userId: string): Promise<UserRow> {
    const [row] = await this.db.untypedQuery(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1 AND org_id = $2`, [userId, orgId]);
    if (!row) throw new NotFoundError(`No user '${userId}' exists in this org.`, 'USER_NOT_FOUND');
    return row;
  }

  async create(principal: Principal, input: { org_id?: string; email: string; password: string; role?: BuiltInRoleName }): Promise<User> {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const role = input.role ?? 'member';
    assertCanGrant(principal, builtInRole(role)!.permissions, `the ${role} role`);
    const passwordHash = await hashPassword(input.password);
    return this.db.transaction(async (manager) => {
      await this.orgs.reserveQuota(orgId, 'users', async () => (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE org_id = $1`, [orgId])).rows[0]!.n);
      try {
        const [row] = await manager.query(
          `INSERT INTO users (id, org_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING ${USER_COLUMNS}`,
          [newId('usr'), orgId, input.email, passwordHash, role],
        );
        return toUser(row);
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`A user with the email ${input.email} already exists.`, 'EMAIL_TAKEN');
        throw error;
      }
    });
  }

  /**
   * Deletes the user (sessions and role assignments go with them) and revokes the keys they
   * created, which the authenticator would refuse anyway once their creator is gone.
   */
  async delete(principal: Principal, userId: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    await keepingAnOwner(this.db, orgId, `Deleting user '${userId}'`, async (manager) => {
      const user = await this.get(orgId, userId);
      const [roles]: Array<{ assigned: RoleAssignment[] }> = await manager.query(`SELECT ${ASSIGNED_ROLES_SQL} AS assigned FROM users u WHERE u.id = $1`, [userId]);
      if (rolesAndPermissions(user.role, roles!.assigned).permissions.has('owner.grant') && !principal.permissions.has('owner.grant')) {
        throw new ForbiddenError(`Only an owner deletes an owner: ${user.email} holds owner.grant and you do not.`, 'PRIVILEGE_ESCALATION');
      }
      noteBefore(toUser(user));
      await manager.query(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE created_by = $1`, [userId]);
      await manager.query(`DELETE FROM users WHERE id = $1`, [userId]);
    });
  }
}
