import { ALL_PERMISSIONS, missingPermissions, ORG_PERMISSIONS } from '../../auth/permissions';
import type { Principal } from '../../auth/principal';
import { ForbiddenError, ValidationError } from '../../errors/api-error';

const ORG_PERMISSION_SET = new Set(ORG_PERMISSIONS);

/**
 * No privilege escalation: granting a role, creating a role or key, or creating a user with a
 * role, needs every permission granted. The 403 names the ones the caller lacks.
 */
export function assertCanGrant(principal: Principal, permissions: Iterable<string>, what: string): void {
  refuseBeyondCaller(principal, permissions, `You cannot grant ${what}`);
}

/**
 * Nor by removal: taking permissions from someone (removing their role, deleting or narrowing a
 * role they hold, deleting the user) needs every permission taken, so an admin cannot strip an
 * owner and a key holding only `user.edit` cannot delete an admin.
 */
export function assertCanTakeAway(principal: Principal, permissions: Iterable<string>, what: string): void {
  refuseBeyondCaller(principal, permissions, `You cannot take away ${what}`);
}

function refuseBeyondCaller(principal: Principal, permissions: Iterable<string>, refusal: string): void {
  const lacking = missingPermissions(permissions, principal.permissions);
  if (lacking.length > 0) {
    throw new ForbiddenError(
      `${refusal}: it carries permissions you do not hold (${lacking.join(', ')}).`,
      'PRIVILEGE_ESCALATION',
      lacking.map((permission) => ({
        location: 'body',
        field: 'permissions',
        message: `you do not hold ${permission}`,
        rule: 'escalation',
      })),
    );
  }
}

/** 422 for names outside the catalog or of platform scope; roles hold org permissions only. */
export function assertOrgPermissions(permissions: string[]): void {
  const bad = permissions.filter((permission) => !ORG_PERMISSION_SET.has(permission));
  if (bad.length === 0) return;
  throw new ValidationError(
    `Not org permissions of the catalog: ${bad.join(', ')}. See GET /api/v1/permissions.`,
    'UNKNOWN_PERMISSION',
    bad.map((permission) => ({
      location: 'body' as const,
      field: `permissions/${permissions.indexOf(permission)}`,
      message: ALL_PERMISSIONS.has(permission) ? 'is a platform permission' : 'is not in the permission catalog',
      rule: 'enum',
    })),
  );
}
