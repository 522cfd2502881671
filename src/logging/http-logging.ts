import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { redactUrl } from './logger';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's well-formed X-Request-Id is kept so logs correlate across systems; else a new one. */
export function requestIdFor(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  if (typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered)) return offered;
  return `req_${randomBytes(16).toString('hex')}`;
}

const operationIdOf = (req: IncomingMessage) => (req as { operationId?: string }).operationId ?? 'unmatched';

/**
 * One JSON line per request, at a level matching its outcome, carrying the request id and
 * the operationId the binding matched. Headers are not logged at all (they carry credentials).
 */
export function createHttpLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestIdFor(req);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    // Added when the response finishes: the operation is only known after routing.
    customSuccessObject: (req, _res, fields) => ({ ...fields, operation_id: operationIdOf(req) }),
    customErrorObject: (req, _res, _error, fields) => ({ ...fields, operation_id: operationIdOf(req) }),
    serializers: {
      req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        remote_address: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    wrapSerializers: true,
    customSuccessMessage: (req, res) => `${req.method} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${res.statusCode}`,
  });
}
