import type { RuntimeContext } from '../../../binding/handler-types';
import type { GatewayAnswer, GatewayService } from '../gateway-service';

/**
 * A gateway operation's handler. The operations are not in the published spec until the gateway
 * module is wired (their generated types come with it), so the handler is typed by what it uses.
 */
export type GatewayHandler = (context: RuntimeContext<{ gateway: GatewayService }>) => Promise<GatewayAnswer>;
