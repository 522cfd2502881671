import type { HandlerMap } from './handler';
import { systemHandlers } from './system/handlers';

/** Every module's handlers, keyed by operationId. */
export const handlers = { ...systemHandlers } satisfies HandlerMap;
