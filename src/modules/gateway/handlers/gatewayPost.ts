import type { GatewayHandler } from './gateway-handler';

export const gatewayPost: GatewayHandler = (context) => context.services.gateway.forward(context);
