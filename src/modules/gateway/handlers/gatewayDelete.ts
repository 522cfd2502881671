import type { GatewayHandler } from './gateway-handler';

export const gatewayDelete: GatewayHandler = (context) => context.services.gateway.forward(context);
