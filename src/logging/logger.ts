import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/config';

/**
 * Paths whose values never reach a log line. Credentials travel in these headers and fields;
 * later modules add their secret-bearing fields here rather than scrubbing at each call site.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-agent-secret"]',
  'req.headers["x-secu-admin-token"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.api_key',
  '*.refresh_token',
  '*.runtime_token',
  '*.install_token',
  '*.session_token',
  '*.pin',
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'warden' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

const SECRET_QUERY_PARAMETER = /(token|secret|password|key|code|pin|signature|auth|session|jwt|sig)/i;
/** Anything shaped like a Warden credential (prefix, 32 random + 6 checksum characters) or a JWT, wherever it sits. */
const CREDENTIAL = /\b[a-z]{2,4}(?:_live|_test)?_[A-Za-z0-9]{38}\b|\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;

/**
 * The URL as it may be logged: values of query parameters whose names can carry secrets are
 * hidden, and so is any credential-shaped text in the path or under any other name.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url.replace(CREDENTIAL, '[REDACTED]');
  const query = new URLSearchParams(url.slice(queryStart + 1));
  for (const name of new Set(query.keys())) {
    if (SECRET_QUERY_PARAMETER.test(name)) query.set(name, '[REDACTED]');
  }
  return `${url.slice(0, queryStart)}?${query.toString()}`.replace(CREDENTIAL, '[REDACTED]');
}
