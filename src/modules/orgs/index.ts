export { createOwnerKey, ensureFirstOrg, OwnerKeyRefused } from './first-start';
export { orgsHandlers } from './handlers';
export { OrgService } from './org-service';
