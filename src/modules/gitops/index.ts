export { gitopsHandlers } from './handlers';
export { GitopsService, type PatchApplied, type RequestVisibility } from './gitops-service';
