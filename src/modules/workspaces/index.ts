export { EnvironmentService } from './environment-service';
export { workspacesHandlers } from './handlers';
export { type RequestPlace, WorkspaceService, type WorkspaceTerm } from './workspace-service';
