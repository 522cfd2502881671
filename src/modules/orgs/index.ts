export { orgsHandlers } from './handlers';
export { ensureFirstOrg } from './first-start';
export { OrgService } from './org-service';
