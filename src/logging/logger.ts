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

const SECRET_QUERY_PARAMETER = /(token|secret|password|key|code|pin|signature)/i;

/** The URL as it may be logged: values of query parameters that can carry secrets are hidden. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const query = new URLSearchParams(url.slice(queryStart + 1));
  for (const name of new Set(query.keys())) {
    if (SECRET_QUERY_PARAMETER.test(name)) query.set(name, '[REDACTED]');
  }
  return `${url.slice(0, queryStart)}?${query.toString()}`;
}
