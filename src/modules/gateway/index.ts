export {
  applyVendorCredential,
  DEFAULT_GATEWAY_LIMITS,
  type GatewayAnswer,
  type GatewayCaller,
  type GatewayKeyAuthenticator,
  type GatewayLimits,
  type GatewayRequest,
  GatewayService,
  type VendorUpstream,
  type VendorUpstreams,
} from './gateway-service';
export { gatewayHandlers } from './handlers';
