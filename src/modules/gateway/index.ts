export {
  type GatewayAnswer,
  type GatewayDecisions,
  type GatewayLimits,
  type GatewayRequest,
  GatewayService,
  type VendorUpstreams,
} from './gateway-service';
export { gatewayHandlers } from './handlers';
