import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
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

/**
 * One JSON line per request when it finishes, at a level matching its outcome, carrying the
 * request id and the operationId the binding matched. Headers are not logged at all (they carry
 * credentials). The per-request child logger is only made when something logs through it, and
 * the line is only built when its level is enabled: at `warn` a successful request costs no
 * logging work at all.
 */
export function createHttpLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFor(req);
    req.id = id;
    res.setHeader('X-Request-Id', id);
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', { configurable: true, get: () => (child ??= logger.child({ req_id: id })) });
    const started = performance.now();
    res.once('finish', () => {
      const level = levelFor(res.statusCode);
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method: req.method, url: redactUrl(req.originalUrl), remote_address: req.socket.remoteAddress },
          res: { status: res.statusCode },
          response_time_ms: Math.round((performance.now() - started) * 100) / 100,
          operation_id: req.operationId ?? 'unmatched',
        },
        `${req.method} ${res.statusCode}`,
      );
    });
    next();
  };
}
