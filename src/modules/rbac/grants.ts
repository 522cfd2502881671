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

/**
 * Permissions only an org owner (a holder of `owner.grant`) may hand to a person, through a role,
 * a new user's built-in role or a custom role's permissions. Decision power: deciding access
 * requests and agent approvals, and writing the workflows that say who decides them (and which
 * auto-approve). Admin power over people: creating users, making and assigning roles. Without
 * this an admin could create a second user, give it `request.approve` and approve their own
 * request: the four-eyes rule would hold one person only.
 */
export const OWNER_GRANTED_PERMISSIONS: ReadonlySet<string> = new Set([
  'request.approve',
  'approval.decide',
  'workflow.edit',
  'user.edit',
  'user_role.edit',
  'role.edit',
  'owner.grant',
]);

/**
 * {@link assertCanGrant} for grants to people (roles, users, custom roles): besides holding every
 * permission, only an owner grants one of {@link OWNER_GRANTED_PERMISSIONS} (403 `GRANT_REQUIRES_OWNER`).
 */
export function assertCanGrantToPeople(principal: Principal, permissions: Iterable<string>, what: string): void {
  const granted = [...permissions];
  refuseBeyondCaller(principal, granted, `You cannot grant ${what}`);
  if (principal.permissions.has('owner.grant')) return;
  const ownerOnly = granted.filter((permission) => OWNER_GRANTED_PERMISSIONS.has(permission));
  if (ownerOnly.length === 0) return;
  throw new ForbiddenError(
    `You cannot grant ${what}: it carries ${ownerOnly.join(', ')}. Only an org owner grants the power ` +
      'to decide requests and approvals or to manage users and roles; ask an owner.',
    'GRANT_REQUIRES_OWNER',
    ownerOnly.map((permission) => ({
      location: 'body',
      field: 'permissions',
      message: `only an owner grants ${permission}`,
      rule: 'owner_only',
    })),
  );
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
