export { orgsHandlers } from './handlers';
export { createOwnerKey, ensureFirstOrg, OwnerKeyRefused } from './first-start';
export { OrgService } from './org-service';
