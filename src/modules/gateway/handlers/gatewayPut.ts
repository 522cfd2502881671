import type { GatewayHandler } from './gateway-handler';

export const gatewayPut: GatewayHandler = (context) => context.services.gateway.forward(context);
