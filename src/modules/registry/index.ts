export { registryHandlers } from './handlers';
export { type ListedAgent, RegistryService } from './registry-service';
