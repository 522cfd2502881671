export { assertCanGrant, assertCanTakeAway, assertOrgPermissions } from './grants';
export { rbacHandlers } from './handlers';
export { OwnerGuard } from './owners';
export { RbacService } from './rbac-service';
