import { listApiKeys } from './listApiKeys';
import { createApiKey } from './createApiKey';
import { revokeApiKey } from './revokeApiKey';
import { rollApiKey } from './rollApiKey';

export const apiKeysHandlers = { listApiKeys, createApiKey, revokeApiKey, rollApiKey };
