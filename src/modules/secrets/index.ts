export { secretsHandlers } from './handlers';
export { type DiscoveredSecret, type SecretReference, SecretService } from './secret-service';
