export { orgsHandlers } from './handlers';
export { ensureFirstOrg } from './first-start';
export { OrgService, orgNotFound } from './org-service';
