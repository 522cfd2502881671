import type { GatewayHandler } from './gateway-handler';

export const gatewayGet: GatewayHandler = (context) => context.services.gateway.forward(context);
