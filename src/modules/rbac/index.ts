export { rbacHandlers } from './handlers';
export { assertCanGrant, assertOrgPermissions } from './grants';
export { keepingAnOwner } from './owners';
export { RbacService } from './rbac-service';
