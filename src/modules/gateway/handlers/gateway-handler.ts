import type { HandlerResult } from '../../../binding/handler-types';
import type { Handler } from '../../handler';

type GatewayOperationId = 'gatewayGet' | 'gatewayPost' | 'gatewayPut' | 'gatewayPatch' | 'gatewayDelete';

/**
 * Every gateway operation's handler. The vendor's answer goes out as its `default` response
 * documents: whatever status the vendor gave, headers passed on (repeated ones as arrays), the body
 * streamed. That is wider than a typed result can say, so the answer is passed through as one.
 */
export const forwardThroughGateway =
  <K extends GatewayOperationId>(): Handler<K> =>
  async (context) =>
    (await context.services.gateway.forward(context)) as unknown as HandlerResult<K>;
