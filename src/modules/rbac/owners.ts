import { BUILT_IN_ROLES, rolesAndPermissions } from '../../auth/permissions';
import type { Db } from '../../db/db';
import { ConflictError } from '../../errors/api-error';
import type { OrgService } from '../orgs';
import { RbacStore } from './rbac-store';

const OWNER_PERMISSION = 'owner.grant';
const OWNER_ROLES = BUILT_IN_ROLES.filter((role) => role.permissions.includes(OWNER_PERMISSION));

/** Keeps every org with someone who holds `owner.grant`. */
export class OwnerGuard {
  private readonly store: RbacStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'lock'>,
  ) {
    this.store = new RbacStore(db);
  }

  /** Every permission the user holds, through their built-in role and their assigned ones. */
  async permissionsOf(user: { id: string; role: string }): Promise<Set<string>> {
    return rolesAndPermissions(user.role, await this.store.assignmentsOf(user.id)).permissions;
  }

  /**
   * Runs `change` in a transaction that holds the org's row lock, then refuses (409 `LAST_OWNER`,
   * rolling the change back) when it left nobody holding `owner.grant`. Every change that can take
   * the last owner away goes through here, so two concurrent demotions take turns on the lock and
   * the second one counts what the first left.
   */
  keepingAnOwner<T>(orgId: string, what: string, change: () => Promise<T>): Promise<T> {
    return this.db.transaction(async () => {
      await this.orgs.lock(orgId);
      const result = await change();
      const owners = await this.store.countHolders(
        orgId,
        OWNER_ROLES.map((role) => role.name),
        OWNER_ROLES.map((role) => role.id),
        OWNER_PERMISSION,
      );
      if (owners === 0) {
        throw new ConflictError(
          `${what} would leave the org without an owner: nobody else holds ${OWNER_PERMISSION} ` +
            '(no owner user, no owner key made at first start). ' +
            'Make another user an owner first, or create an owner key with `npm run admin -- create-owner-key`.',
          'LAST_OWNER',
        );
      }
      return result;
    });
  }
}
