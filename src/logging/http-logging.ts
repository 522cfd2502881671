import { randomUUID } from 'node:crypto';
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Level, Logger } from 'pino';
import { redactUrl } from './logger';

declare module 'http' {
  interface IncomingMessage {
    /** The request id: the caller's X-Request-Id when well-formed, else `req_<hex>`. */
    id: string;
    /** A logger bound to the request id, made on first use. */
    log: Logger;
  }
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's well-formed X-Request-Id is kept so logs correlate across systems; else a new one. */
export function requestIdFor(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  if (typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered)) return offered;
  return newRequestId();
}

// randomUUID draws from a cached entropy pool: no system call per request.
export const newRequestId = () => `req_${randomUUID().replaceAll('-', '')}`;

const levelFor = (status: number): Level => (status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info');

const kLogger = Symbol('warden.logger');
const kChild = Symbol('warden.requestLogger');
const kStarted = Symbol('warden.started');

interface LoggedRequest extends IncomingMessage {
  [kLogger]?: Logger;
  [kChild]?: Logger;
  [kStarted]?: number;
}

// `req.log` is one accessor on the prototype, not one defined on each request: defining it per request
// cost a closure and a property descriptor on every request, most of which never log.
Object.defineProperty(IncomingMessage.prototype, 'log', {
  configurable: true,
  get(this: LoggedRequest): Logger | undefined {
    if (this[kChild] === undefined && this[kLogger] !== undefined) this[kChild] = this[kLogger].child({ req_id: this.id });
    return this[kChild];
  },
  set(this: LoggedRequest, logger: Logger) {
    this[kChild] = logger;
  },
});

/**
 * One JSON line per request when it finishes, at a level matching its outcome, carrying the
 * request id and the operationId the binding matched. Headers are not logged at all (they carry
 * credentials). The per-request child logger is only made when something logs through it, and
 * the line is only built when its level is enabled: at `warn` a successful request costs no
 * logging work at all. One `finish` listener serves every request of the app.
 */
export function createHttpLogger(logger: Logger): RequestHandler {
  function onFinish(this: ServerResponse): void {
    const level = levelFor(this.statusCode);
    if (!logger.isLevelEnabled(level)) return;
    const req = this.req as LoggedRequest & { originalUrl?: string; operationId?: string };
    logger[level](
      {
        req: { id: req.id, method: req.method, url: redactUrl(req.originalUrl ?? req.url ?? ''), remote_address: req.socket.remoteAddress },
        res: { status: this.statusCode },
        response_time_ms: Math.round((performance.now() - req[kStarted]!) * 100) / 100,
        operation_id: req.operationId ?? 'unmatched',
      },
      `${req.method} ${this.statusCode}`,
    );
  }
  return (req, res, next) => {
    const id = requestIdFor(req);
    const logged = req as LoggedRequest;
    req.id = id;
    logged[kLogger] = logger;
    logged[kStarted] = performance.now();
    res.setHeader('X-Request-Id', id);
    res.on('finish', onFinish);
    next();
  };
}
