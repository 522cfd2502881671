import { createGatewayKey } from './createGatewayKey';
import { getCurrentGatewayKey } from './getCurrentGatewayKey';
import { listGatewayKeys } from './listGatewayKeys';
import { revokeGatewayKey } from './revokeGatewayKey';

export const gatewayKeysHandlers = {
  createGatewayKey,
  listGatewayKeys,
  revokeGatewayKey,
  getCurrentGatewayKey,
};
