import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, RequestHandler, Response } from 'express';
import { InternalError, MethodNotAllowedError, NotFoundError, UnauthorizedError, UnsupportedMediaTypeError } from '../errors/api-error';
import type { AnyHandler, RuntimeContext, RuntimeResult } from './handler-types';
import { type JsonBody, jsonBodyReader } from './json-body';
import type { LoadedSpec } from './loaded-spec';
import type { BoundOperation } from './operation-table';
import { type ValidatedInput, validateRequest } from './request-validator';
import { RouteMatcher } from './route-matcher';

declare module 'express-serve-static-core' {
  interface Request {
    /** The operationId the binding matched, for logs and metrics. */
    operationId?: string;
  }
}

/**
 * What the binding asks of the access layer, in request order: who is calling (secured
 * operations only; 401), may they call this operation (403/402), and have they called it too
 * often (`x-rate-limit`, after validation so the bucket can read the body; 429).
 */
export interface RequestGate {
  anonymous: unknown;
  authenticate(req: Request, operation: BoundOperation): Promise<unknown>;
  authorize(principal: unknown, operation: BoundOperation, req: Request): Promise<void>;
  throttle(operation: BoundOperation, req: Request, body: unknown, principal: unknown): Promise<void>;
  /** Runs the handler; the gate may wrap it (e.g. in the transaction that writes its audit event). */
  execute(context: RuntimeContext<unknown>, run: () => Promise<RuntimeResult>): Promise<RuntimeResult>;
}

export interface BindingOptions<Services> {
  /** The spec to bind: the published one as generate compiled it, or any spec compiled on the fly. */
  spec: LoadedSpec;
  /** One handler per operationId, no more and no fewer. */
  handlers: Record<string, AnyHandler>;
  services: Services;
  bodyLimitBytes: number;
  /** Check each JSON response against the spec and turn a mismatch into a 500. */
  validateResponses?: boolean;
  /** Builds the gate from the operation table; without one, secured operations answer 401 (fail closed). */
  gate?: (operations: BoundOperation[]) => RequestGate;
  /** Flags that are on; an operation whose `x-feature-flag` is not among them is not routed (404, as if absent). */
  featureFlags?: ReadonlySet<string>;
}

export interface Binding {
  spec: LoadedSpec;
  operations: BoundOperation[];
  matcher: RouteMatcher;
  middleware: RequestHandler;
}

export class HandlerRegistryError extends Error {
  constructor(
    readonly missing: string[],
    readonly unknown: string[],
  ) {
    const lines = [
      ...missing.map((operationId) => `  - operation ${operationId} has no handler`),
      ...unknown.map((operationId) => `  - handler ${operationId} has no operation in the spec`),
    ];
    super(`Handlers and spec disagree:\n${lines.join('\n')}`);
    this.name = 'HandlerRegistryError';
  }
}

/**
 * Binds handlers to the spec by operationId. Everything per-operation — the route trie, the
 * validators, the vendor-extension table — exists before the first request; a request then costs
 * one trie walk and the compiled validators of its own operation.
 */
export function createBinding<Services>(options: BindingOptions<Services>): Binding {
  const { spec } = options;
  const { operations } = spec;
  const operationIds = new Set(operations.map((operation) => operation.operationId));
  const missing = [...operationIds].filter((operationId) => !(operationId in options.handlers));
  const unknown = Object.keys(options.handlers).filter((operationId) => !operationIds.has(operationId));
  if (missing.length > 0 || unknown.length > 0) throw new HandlerRegistryError(missing.sort(), unknown.sort());

  const matcher = new RouteMatcher(
    operations.filter(({ extensions }) => !extensions.featureFlag || options.featureFlags?.has(extensions.featureFlag)),
  );
  const gate = options.gate?.(operations);
  const readJsonBody = jsonBodyReader(options.bodyLimitBytes);

  const handle = async (req: Request, res: Response): Promise<void> => {
    const match = matcher.match(req.method, req.path);
    if (match.kind === 'not-found') throw new NotFoundError(`No route matches ${req.method} ${req.path}.`, 'ROUTE_NOT_FOUND');
    if (match.kind === 'method-not-allowed') throw new MethodNotAllowedError(req.method, req.path, match.allowed);
    const { operation } = match;
    req.operationId = operation.operationId;

    if (operation.security.length > 0 && !gate) throw new UnauthorizedError();
    const principal = operation.security.length > 0 ? await gate!.authenticate(req, operation) : gate?.anonymous;
    await gate?.authorize(principal, operation, req);
    let body: JsonBody | undefined;
    if (operation.jsonBody && requestHasBody(req)) {
      const contentType = req.headers['content-type'];
      if (contentType !== 'application/json' && !req.is(['application/json', 'application/*+json'])) {
        throw new UnsupportedMediaTypeError(
          `This operation accepts application/json; got ${req.headers['content-type'] ?? 'no Content-Type'}.`,
          'UNSUPPORTED_MEDIA_TYPE',
        );
      }
      const charset = contentType?.includes(';') ? /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase() : undefined;
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
        throw new UnsupportedMediaTypeError(`Unsupported charset "${charset}"; send UTF-8.`, 'UNSUPPORTED_CHARSET');
      }
      body = await readJsonBody(req, res);
    }

    const input = validateRequest(operation, spec.requestValidators.get(operation.operationId)!, {
      params: match.params,
      query: req.query as Record<string, unknown>,
      headers: req.headers,
      body: body?.value,
      bodyNeedsScreening: body?.needsScreening === true,
    });
    if (operation.extensions.rateLimit && gate) await gate.throttle(operation, req, input.body, principal);
    const context = new HandlerContext(operation, input, req, principal, options.services);
    const handler = options.handlers[operation.operationId] as unknown as (context: RuntimeContext<Services>) => unknown;
    const run = async () => (await handler(context)) as RuntimeResult;
    const result = gate ? await gate.execute(context as RuntimeContext<unknown>, run) : await run();
    if (options.validateResponses) assertResponseMatchesSpec(spec, operation, result, req);
    send(res, operation, result);
  };

  return {
    spec,
    operations,
    matcher,
    middleware: (req, res, next) => {
      handle(req, res).catch(next);
    },
  };
}

/** What a handler is given; one class, so every request's context has the same shape. */
class HandlerContext<Services> implements RuntimeContext<Services> {
  readonly operationId: string;
  readonly params: Record<string, unknown>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
  readonly headers: Request['headers'];
  readonly requestId: string;
  private childLog: RuntimeContext<Services>['log'] | undefined;

  constructor(
    readonly operation: BoundOperation,
    input: ValidatedInput,
    readonly req: Request,
    readonly principal: unknown,
    readonly services: Services,
  ) {
    this.operationId = operation.operationId;
    this.params = input.params;
    this.query = input.query;
    this.body = input.body;
    this.headers = req.headers;
    this.requestId = req.id as string;
  }

  /** Made on first use: most handlers never log. */
  get log(): RuntimeContext<Services>['log'] {
    this.childLog ??= this.req.log.child({ operation_id: this.operationId });
    return this.childLog;
  }
}

/** A body is present when one is announced with a non-zero length or as a chunked stream. */
function requestHasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}

function send(res: Response, operation: BoundOperation, result: RuntimeResult): void {
  const status = Number(result.status);
  res.status(status);
  if (result.body instanceof Readable) {
    sendStream(res, operation, status, result.headers, result.body);
    return;
  }
  if (result.headers) res.set(result.headers);
  if (result.body === undefined) {
    res.end();
    return;
  }
  const contentType = res.get('Content-Type') ?? documentedType(operation, status) ?? 'application/json';
  if (contentType === 'application/json') {
    // The common answer: res.json sets this very type itself, with no MIME look-up.
    res.json(result.body);
  } else if (/^application\/(.+\+)?json/.test(contentType)) {
    res.type(contentType).json(result.body);
  } else {
    res.type(contentType).send(result.body);
  }
}

const documentedType = (operation: BoundOperation, status: number): string | undefined =>
  (operation.responses.get(String(status)) ?? operation.responses.get('default'))?.[0];

/**
 * Headers as given, with no charset added to their Content-Type (a proxied answer keeps its
 * upstream's), else the documented type unless that is a wildcard; the body piped with backpressure.
 */
function sendStream(
  res: Response,
  operation: BoundOperation,
  status: number,
  headers: Record<string, string | string[]> | undefined,
  body: Readable,
): void {
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  const contentType = documentedType(operation, status);
  if (!res.hasHeader('Content-Type') && contentType && !contentType.includes('*')) res.type(contentType);
  // A stream that fails after the headers went out can only end the connection. A caller who
  // leaves fails it too (and pipeline destroys the source, closing a proxied upstream): no error of ours.
  pipeline(body, res).catch((error: Error) => {
    if (!res.destroyed) res.req.log.error({ err_message: error.message }, 'streamed response failed');
    res.destroy(error);
  });
}

function assertResponseMatchesSpec(spec: LoadedSpec, operation: BoundOperation, result: RuntimeResult, req: Request): void {
  const contentTypes = operation.responses.get(String(result.status));
  // A documented answer without content (204) has no body to check, nor has a stream.
  if (contentTypes?.length === 0 || result.body instanceof Readable) return;
  const chosen = Object.entries(result.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const contentType = typeof chosen === 'string' ? chosen : contentTypes?.[0];
  if (contentType !== undefined && !contentType.includes('json')) return;
  const { valid, errors } = spec.responseValidator.validate(operation.operationId, Number(result.status), result.body);
  if (!valid) {
    req.log.error({ operation_id: operation.operationId, status: result.status, errors }, 'response does not match the spec');
    throw new InternalError();
  }
}
