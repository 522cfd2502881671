export { EnvironmentService } from './environment-service';
export { workspacesHandlers } from './handlers';
export { WorkspaceService } from './workspace-service';
