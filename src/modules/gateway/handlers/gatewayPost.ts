import { forwardThroughGateway } from './gateway-handler';

export const gatewayPost = forwardThroughGateway<'gatewayPost'>();
