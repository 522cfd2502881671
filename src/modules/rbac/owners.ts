import type { EntityManager } from 'typeorm';
import { BUILT_IN_ROLES } from '../../auth/permissions';
import type { Db } from '../../db/db';
import { ConflictError } from '../../errors/api-error';
import { orgNotFound } from '../orgs';

const OWNER_PERMISSION = 'owner.grant';
const OWNER_ROLES = BUILT_IN_ROLES.filter((role) => role.permissions.includes(OWNER_PERMISSION));

/**
 * Who can still exercise `owner.grant` in org $1: users holding it through their built-in role
 * or an assigned role, and live keys made without a creating user (first start, the admin
 * script), which are bounded by the owner role. A key a user created holds it only while its
 * creator does, so it is counted through the user.
 */
const OWNERS_SQL = `SELECT
  (SELECT count(*)::int FROM users u WHERE u.org_id = $1 AND (u.role = ANY ($2::text[]) OR EXISTS (
     SELECT 1 FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id
     WHERE ur.user_id = u.id AND (ur.role_id = ANY ($3::text[]) OR $4 = ANY (r.permissions))))) AS users,
  (SELECT count(*)::int FROM api_keys k WHERE k.org_id = $1 AND k.created_by IS NULL AND k.revoked_at IS NULL
     AND k.expires_at > now() AND $4 = ANY (k.permissions)) AS keys`;

/**
 * Runs `change` in a transaction that holds the org's row lock, then refuses (409 `LAST_OWNER`,
 * rolling the change back) when it left nobody holding `owner.grant`. Every change that can take
 * the last owner away goes through here, so two concurrent demotions take turns on the lock and
 * the second one counts what the first left.
 */
export function keepingAnOwner<T>(db: Db, orgId: string, what: string, change: (manager: EntityManager) => Promise<T>): Promise<T> {
  return db.transaction(async (manager) => {
    const [org] = await manager.query(`SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE`, [orgId]);
    if (!org) throw orgNotFound(orgId);
    const result = await change(manager);
    const [left]: Array<{ users: number; keys: number }> = await manager.query(OWNERS_SQL, [
      orgId,
      OWNER_ROLES.map((role) => role.name),
      OWNER_ROLES.map((role) => role.id),
      OWNER_PERMISSION,
    ]);
    if (left!.users + left!.keys === 0) {
      throw new ConflictError(
        `${what} would leave the org without an owner: nobody else holds ${OWNER_PERMISSION} (no owner user, no owner key made at first start). ` +
          'Make another user an owner first, or create an owner key with `npm run admin -- create-owner-key`.',
        'LAST_OWNER',
      );
    }
    return result;
  });
}
