export { workspacesHandlers } from './handlers';
export { EnvironmentService } from './environment-service';
export { WorkspaceService } from './workspace-service';
