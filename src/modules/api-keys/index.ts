export { apiKeysHandlers } from './handlers';
export { ApiKeyService } from './api-key-service';
