import { bindApiKeyDevice } from './bindApiKeyDevice';
import { createApiKey } from './createApiKey';
import { listApiKeyDevices } from './listApiKeyDevices';
import { listApiKeys } from './listApiKeys';
import { revokeApiKey } from './revokeApiKey';
import { rollApiKey } from './rollApiKey';
import { unbindApiKeyDevice } from './unbindApiKeyDevice';
import { updateApiKey } from './updateApiKey';

export const apiKeysHandlers = {
  listApiKeys,
  createApiKey,
  revokeApiKey,
  rollApiKey,
  bindApiKeyDevice,
  listApiKeyDevices,
  unbindApiKeyDevice,
  updateApiKey,
};
