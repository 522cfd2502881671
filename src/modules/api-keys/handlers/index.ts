import { createApiKey } from './createApiKey';
import { listApiKeys } from './listApiKeys';
import { revokeApiKey } from './revokeApiKey';
import { rollApiKey } from './rollApiKey';

export const apiKeysHandlers = { listApiKeys, createApiKey, revokeApiKey, rollApiKey };
