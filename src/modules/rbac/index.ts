export { rbacHandlers } from './handlers';
export { assertCanGrant, assertOrgPermissions } from './grants';
export { OwnerGuard } from './owners';
export { RbacService } from './rbac-service';
