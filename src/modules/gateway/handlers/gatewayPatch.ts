import type { GatewayHandler } from './gateway-handler';

export const gatewayPatch: GatewayHandler = (context) => context.services.gateway.forward(context);
