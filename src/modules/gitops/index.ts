export { GitopsService, type PatchApplied, type RequestVisibility } from './gitops-service';
export { gitopsHandlers } from './handlers';
