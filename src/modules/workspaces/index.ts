export { workspacesHandlers } from './handlers';
export { EnvironmentService } from './environment-service';
export { WorkspaceService, assertWorkspaceInOrg } from './workspace-service';
