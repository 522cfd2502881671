export { installationsHandlers } from './handlers';
export { InstallationService, installationStatus } from './installation-service';
