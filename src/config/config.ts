/**
 * The one place that reads process.env. Every variable is parsed and checked here so that a
 * bad value stops start-up with a message naming it, instead of failing later at a distance.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Port the HTTP server listens on. */
  port: number;
  /** Interface the HTTP server binds to. */
  host: string;
  /** A Postgres URL; absent means the embedded PGlite database under `dataDir`. */
  databaseUrl: string | undefined;
  /** Where the embedded database keeps its files. */
  dataDir: string;
  /** Connections in the pool for a real Postgres (the embedded one always uses one). */
  dbPoolSize: number;
  logLevel: LogLevel;
  /** Largest request body accepted, in bytes; larger bodies get 413. */
  bodyLimitBytes: number;
  /** How long SIGTERM waits for in-flight requests before closing their connections. */
  shutdownTimeoutMs: number;
  /** Validate every response against the spec and answer 500 on a mismatch (development aid). */
  validateResponses: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: T, parse: (raw: string) => T | string): T => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const parsed = parse(raw.trim());
    if (typeof parsed === 'string' && typeof fallback !== 'string') {
      problems.push(`${name}: ${parsed} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return parsed as T;
  };
  const integer = (min: number, max: number) => (raw: string) => {
    const value = Number(raw);
    return Number.isInteger(value) && value >= min && value <= max
      ? value
      : `must be a whole number from ${min} to ${max}`;
  };
  const boolean = (raw: string) =>
    ['true', '1', 'yes'].includes(raw.toLowerCase())
      ? true
      : ['false', '0', 'no'].includes(raw.toLowerCase())
        ? false
        : 'must be true or false';

  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/[^\s]+$/.test(databaseUrl)) {
    problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL');
  }
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(logLevel)})`);
  }

  const config: Config = {
    port: read('PORT', 9300, integer(0, 65535)),
    host: env.HOST?.trim() || '0.0.0.0',
    databaseUrl,
    dataDir: env.WARDEN_DATA_DIR?.trim() || '.data',
    dbPoolSize: read('DB_POOL_SIZE', 10, integer(1, 500)),
    logLevel: logLevel as LogLevel,
    bodyLimitBytes: read('BODY_LIMIT_BYTES', 1024 * 1024, integer(1024, 100 * 1024 * 1024)),
    shutdownTimeoutMs: read('SHUTDOWN_TIMEOUT_MS', 10_000, integer(0, 600_000)),
    validateResponses: read('VALIDATE_RESPONSES', false, boolean),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
