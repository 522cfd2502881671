import { forwardThroughGateway } from './gateway-handler';

export const gatewayPut = forwardThroughGateway<'gatewayPut'>();
