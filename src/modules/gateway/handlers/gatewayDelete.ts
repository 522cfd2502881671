import { forwardThroughGateway } from './gateway-handler';

export const gatewayDelete = forwardThroughGateway<'gatewayDelete'>();
