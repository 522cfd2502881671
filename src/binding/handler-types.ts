import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { operations } from '../../generated/api';
import type { BoundOperation } from './operation-table';

/**
 * Handler types derived from `generated/api.d.ts`: a handler for `getReadiness` receives that
 * operation's parameters and body and may only answer with a status and body its spec documents.
 */
export type OperationId = keyof operations & string;

type Defined<T> = [Exclude<T, undefined>] extends [never] ? Record<string, never> : Exclude<T, undefined>;
type ParametersOf<K extends OperationId> = operations[K]['parameters'];

export type PathParams<K extends OperationId> = Defined<ParametersOf<K>['path']>;
export type QueryParams<K extends OperationId> = Defined<ParametersOf<K>['query']>;

type JsonContent<T> = T extends { content: { 'application/json': infer Body } } ? Body : undefined;
export type RequestBody<K extends OperationId> = [Exclude<operations[K]['requestBody'], undefined>] extends [never]
  ? undefined
  : JsonContent<Exclude<operations[K]['requestBody'], undefined>>;

type ResponsesOf<K extends OperationId> = operations[K]['responses'];
/** A JSON body is a value; any other content type may also be bytes or streamed from a Readable. */
type BodyIn<Content> = {
  [Type in keyof Content]: Type extends `application/json` ? Content[Type] : Content[Type] | Buffer | Readable;
}[keyof Content];
type BodyOf<Response> = Response extends { content: infer Content }
  ? [Exclude<Content, undefined>] extends [never]
    ? undefined
    : BodyIn<Exclude<Content, undefined>>
  : undefined;

/** One of the responses the spec documents for K; the binding sets the content type from the spec. */
export type HandlerResult<K extends OperationId> = {
  [Status in keyof ResponsesOf<K>]: {
    status: Status;
    body: BodyOf<ResponsesOf<K>[Status]>;
    headers?: Record<string, string>;
  };
}[keyof ResponsesOf<K>];

export interface OperationContext<K extends OperationId, Services, Principal = unknown> {
  operationId: K;
  operation: BoundOperation;
  params: PathParams<K>;
  query: QueryParams<K>;
  body: RequestBody<K>;
  headers: IncomingHttpHeaders;
  requestId: string;
  /** Who is calling, as the binding's gate resolved it (its anonymous principal on public operations). */
  principal: Principal;
  log: Logger;
  services: Services;
  req: Request;
}

export type OperationHandler<K extends OperationId, Services, Principal = unknown> = (
  context: OperationContext<K, Services, Principal>,
) => HandlerResult<K> | Promise<HandlerResult<K>>;

/** What the binding layer itself sees: any handler, bound to whatever spec it was given. */
export interface RuntimeContext<Services>
  extends Omit<OperationContext<OperationId, Services>, 'operationId' | 'params' | 'query' | 'body'> {
  operationId: string;
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}
export interface RuntimeResult {
  status: number | string;
  body?: unknown;
  /** A streamed body's headers go out exactly as given (a proxy passes its upstream's on), repeated ones as arrays. */
  headers?: Record<string, string | string[]>;
}
/** Every typed handler is assignable to this; the binding calls it with a RuntimeContext. */
export type AnyHandler = (context: never) => unknown;
