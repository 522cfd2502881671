import type { RequestHandler } from 'express';
import { methodsAt, type RouteMatcher } from './route-matcher';

/** Every request header a Warden client sends: credentials, the body's type, idempotency and tracing. */
const ALLOWED_HEADERS =
  'Authorization, Content-Type, X-API-Key, X-Agent-Secret, Idempotency-Key, X-Request-Id, X-Warden-Device, X-Secu-Admin-Token';
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After, RateLimit-Policy, RateLimit';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/**
 * Headers every response carries for browsers: `nosniff`, and CORS for the origins in
 * CORS_ALLOWED_ORIGINS (exact match; `*` = any). Warden's credentials are request headers,
 * never cookies, so `Access-Control-Allow-Credentials` is never sent, `*` included. A
 * preflight for a route is answered 204 here, with that route's methods for an allowed origin
 * and with no CORS headers for any other, so the browser blocks the call.
 */
export function browserHeaders(allowedOrigins: string[], matcher: RouteMatcher): RequestHandler {
  const anyOrigin = allowedOrigins.includes('*');
  const origins = new Set(allowedOrigins);
  return (req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    res.vary('Origin');
    const allowed = anyOrigin || origins.has(origin);
    if (allowed) res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) {
      if (allowed) res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      return next();
    }
    const methods = methodsAt(matcher, req.path);
    if (methods === undefined) return next();
    if (allowed) {
      res.setHeader('Access-Control-Allow-Methods', methods.join(', '));
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_SECONDS);
    }
    res.status(204).end();
  };
}
