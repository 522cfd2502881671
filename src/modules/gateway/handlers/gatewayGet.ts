import { forwardThroughGateway } from './gateway-handler';

export const gatewayGet = forwardThroughGateway<'gatewayGet'>();
