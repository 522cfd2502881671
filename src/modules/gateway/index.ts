export {
  DEFAULT_GATEWAY_LIMITS,
  type GatewayAnswer,
  type GatewayKeyAuthenticator,
  type GatewayLimits,
  type GatewayRequest,
  GatewayService,
  type VendorUpstreams,
} from './gateway-service';
export { gatewayHandlers } from './handlers';
