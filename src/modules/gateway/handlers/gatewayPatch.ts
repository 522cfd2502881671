import { forwardThroughGateway } from './gateway-handler';

export const gatewayPatch = forwardThroughGateway<'gatewayPatch'>();
