export { ApiKeyService } from './api-key-service';
export { apiKeysHandlers } from './handlers';
