export { assertCanGrant, assertCanGrantToPeople, assertCanTakeAway, assertOrgPermissions, OWNER_GRANTED_PERMISSIONS } from './grants';
export { rbacHandlers } from './handlers';
export { OwnerGuard } from './owners';
export { RbacService } from './rbac-service';
