export { type GatewayCaller, GatewayKeyService } from './gateway-key-service';
export { gatewayKeysHandlers } from './handlers';
