import type { Principal } from '../auth/principal';
import type { OperationHandler, OperationId } from '../binding/handler-types';
import type { Services } from './services';

/** The type of Warden's handler for operation K, e.g. `Handler<'getReadiness'>`. */
export type Handler<K extends OperationId> = OperationHandler<K, Services, Principal>;

/** Exactly one handler per operationId of the spec: a missing one is a compile error. */
export type HandlerMap = { [K in OperationId]: Handler<K> };
