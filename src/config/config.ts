import { accessSync, constants, statSync } from 'node:fs';
import type { components } from '../../generated/api';
import { parseEncryptionKey } from '../crypto/key-manager';

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
  /** Longest wait for a database connection (new or from the pool) before a request answers 503. */
  dbConnectTimeoutMs: number;
  logLevel: LogLevel;
  /** Largest request body accepted, in bytes; larger bodies get 413. */
  bodyLimitBytes: number;
  /** How long SIGTERM waits for in-flight requests before closing their connections. */
  shutdownTimeoutMs: number;
  /** Validate every response against the spec and answer 500 on a mismatch (development aid). */
  validateResponses: boolean;
  /**
   * Run the hottest statements as named prepared statements on a real PostgreSQL. Off behind a
   * pooler that hands one session's statements to another (PgBouncer in transaction mode before 1.21).
   */
  dbPreparedStatements: boolean;
  /** HS256 key for login JWTs; without it each database keeps a random key of its own. */
  jwtSecret: string | undefined;
  jwtTtlMinutes: number;
  adminSessionTtlMinutes: number;
  /** Emails that may log in as platform admin with a PIN (lower-cased). */
  platformAdminEmails: string[];
  /** smtp:// or smtps:// URL; without it mail is written to the log instead. */
  smtpUrl: string | undefined;
  /**
   * Development only: magic-link and verification tokens come back in the API answer instead of
   * by mail (seed 001's "email disabled"). Anyone who knows an email could then log in as its
   * user, so it is off by default and refused with NODE_ENV=production.
   */
  devReturnLinkTokens: boolean;
  mailFrom: string;
  /** Warden's own address as users' browsers reach it; emailed links start with it. */
  publicUrl: string;
  /** Browser origins (`scheme://host[:port]`) allowed to call the API cross-origin; `*` = any. */
  corsAllowedOrigins: string[];
  /** Origins that magic-link and verification links may redirect to after logging in. */
  redirectAllowedOrigins: string[];
  /** Where 402 answers send people to upgrade. */
  upgradeUrl: string;
  /** The plan of the org made at first start. */
  defaultOrgPlan: PlanName;
  rateLimits: RateLimits;
  apiKeyRateLimit: ApiKeyRateLimit;
  outbound: OutboundConfig;
  siem: SiemConfig;
  billing: BillingConfig;
  approvals: ApprovalsConfig;
  jobs: JobsConfig;
  gateway: GatewayConfig;
  /** WARDEN_ENCRYPTION_KEY: the 32-byte key-encryption key that wraps each org's data key (vendor credentials). */
  encryptionKey: Buffer | undefined;
  gitops: GitopsConfig;
  /** OIDC single sign-on; absent when OIDC_ISSUER is not set. */
  oidc?: OidcConfig;
  support: SupportConfig;
  stripe: StripeConfig;
  images: ImagesConfig;
}

/** Container image scans: where advisories come from, which registries, and the bounds of one scan. */
export interface ImagesConfig {
  /** OSV_DATA_DIR: a directory of OSV JSON records; unset = reports say no advisories are loaded. */
  osvDataDir: string | undefined;
  /** IMAGE_DEFAULT_REGISTRY: the registry host of a reference that names none. */
  defaultRegistry: string;
  /** IMAGE_INSECURE_REGISTRIES: hosts (`name` or `name:port`) spoken to over plain http (they must be in OUTBOUND_ALLOWED_HOSTS too). */
  insecureRegistries: string[];
  /** IMAGE_SCAN_MAX_LAYER_BYTES: the largest compressed layer read. */
  maxLayerBytes: number;
  /** IMAGE_SCAN_MAX_TOTAL_BYTES: the largest image (config and compressed layers) read. */
  maxTotalBytes: number;
  /** IMAGE_SCAN_MAX_UNPACKED_BYTES: the most bytes all layers may unpack to (a gzip bomb stops here). */
  maxUnpackedBytes: number;
  /**
   * IMAGE_SCAN_MAX_COMPRESSION_RATIO: once a layer has unpacked 32 MiB, the most bytes it may unpack to per compressed
   * byte read (a gzip bomb fails within 32 MiB, not after IMAGE_SCAN_MAX_UNPACKED_BYTES).
   */
  maxCompressionRatio: number;
  /** IMAGE_SCAN_TIMEOUT_MS: the longest one scan may take; also the longest silence of one registry call is OUTBOUND_TIMEOUT_MS. */
  scanTimeoutMs: number;
  /** IMAGE_SCAN_CONCURRENCY: scans one instance runs at once. */
  concurrency: number;
}

/** Where support tickets go: without an address or webhook a ticket is kept but marked not delivered. */
export interface SupportConfig {
  /** SUPPORT_EMAIL: the support team's mailbox (email, priority and CSM tickets). */
  email: string | undefined;
  /** SUPPORT_SLACK_WEBHOOK_URL: the Slack incoming webhook of the support channel (a credential). */
  slackWebhookUrl: string | undefined;
}

/**
 * Stripe invoicing. Without a secret key the Stripe operations answer 503 and everything else works.
 * The SDK calls `apiBase` through the outbound client's agent, under the same SSRF rules as every
 * call out: a private or plain-http base (a local fixture, an internal proxy) goes in OUTBOUND_ALLOWED_HOSTS.
 */
export interface StripeConfig {
  secretKey: string | undefined;
  /** STRIPE_API_BASE: where the SDK sends its requests (default https://api.stripe.com). */
  apiBase: string;
  webhookSecret: string | undefined;
}

/** The Argo CD integration (seed 002): off by default, when its routes answer 404 and patches observe nothing. */
export interface GitopsConfig {
  /** GITOPS_ENABLED */
  enabled: boolean;
  /** How long after a patch Warden waits for a mapped application to be Synced and Healthy before the observation times out. */
  observationWindowMinutes: number;
  /** A read of a request's observations asks Argo CD again about an open one only this long after the last time. */
  recheckSeconds: number;
}

/** The OpenID provider Warden signs users in with, and how its claims map to an org and a built-in role. */
export interface OidcConfig {
  /** An https issuer URL; its discovery document is at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Without it Warden is a public client (PKCE only, token endpoint auth `none`). */
  clientSecret: string | undefined;
  /** Warden's callback as registered at the provider. */
  redirectUrl: string;
  scopes: string[];
  /** Lower-case email domains that may sign in; `['*']` allows any. */
  allowedEmailDomains: string[];
  /** The claim whose value (or values) `orgMap` looks up. */
  orgClaim: string | undefined;
  orgMap: Record<string, string>;
  /** Where a new user goes when the org claim maps to nothing; without it such a user is refused. */
  defaultOrg: string | undefined;
  roleClaim: string | undefined;
  roleMap: Record<string, BuiltInRoleName>;
  defaultRole: BuiltInRoleName;
}

export type BuiltInRoleName = components['schemas']['BuiltInRoleName'];
const BUILT_IN_ROLES = ['owner', 'admin', 'member', 'viewer'] as const satisfies readonly BuiltInRoleName[];

/** The gateway's limits on one forwarded call. */
export interface GatewayConfig {
  /** The longest silence from the vendor: connecting, between upload chunks, before its answer and within its body. */
  timeoutMs: number;
  /** The largest request body passed on (413 beyond it); counted as it streams, never buffered. */
  maxRequestBytes: number;
}

/** Human approvals: how long one stays open, and how many long-polls one instance holds. */
export interface ApprovalsConfig {
  /** Minutes a pending approval waits for a decision, and an approved one for its use. */
  ttlMinutes: number;
  /** Long-polls (`GET /approvals/{id}?wait=`) held at once by this instance, in all and per org. */
  maxWaits: number;
  maxWaitsPerOrg: number;
}

/** The agents' job queue: how long a claim holds a job, and how many claim long-polls one instance holds. */
export interface JobsConfig {
  /** Seconds a claimed job stays the claimer's; not completed by then, it returns to the queue. */
  visibilityTimeoutSeconds: number;
  /** Long-polls (`POST /agents/{id}/jobs/claim?wait=`) held at once by this instance, in all and per org. */
  maxWaits: number;
  maxWaitsPerOrg: number;
}

/** Calls Warden makes to URLs callers give it (SIEM intakes). */
export interface OutboundConfig {
  /** Hosts (`name` or `name:port`) that may be called over plain http and at private addresses. */
  allowedHosts: string[];
  timeoutMs: number;
  retryBaseMs: number;
  /** PEM file of extra certificate authorities to trust (an on-premises SIEM with an internal CA). */
  caFile: string | undefined;
}

/** Server-side SIEM credentials and intakes, used when an export request names none. */
export interface SiemConfig {
  datadogApiKey: string | undefined;
  datadogIntakeUrl: string;
  splunkHecToken: string | undefined;
  splunkHecUrl: string | undefined;
  pagerdutyRoutingKey: string | undefined;
  pagerdutyEventsUrl: string;
  /** How long one export may keep sending; batches not started by then are reported as failed. */
  exportTimeoutMs: number;
}

/**
 * The fee Warden's operator charges on metered calls, the same for every org until per-org billing
 * settings exist. Zero by default: a self-hosted Warden charges nothing unless its operator says so.
 */
export interface BillingConfig {
  feeMode: FeeMode;
  /** Fee per allowed call in `take_rate` mode, in basis points of its cost (100 = 1 %). */
  takeRateBps: number;
  /** Fee per allowed call in `per_action` mode, in micro-dollars. */
  feePerActionMicros: number;
}

export type FeeMode = components['schemas']['FeeMode'];
const FEE_MODES = ['take_rate', 'per_action'] as const satisfies readonly FeeMode[];

export type PlanName = components['schemas']['PlanName'];
const PLAN_NAMES = ['free', 'starter', 'professional', 'enterprise'] as const satisfies readonly PlanName[];

export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}
/** Per `x-rate-limit` bucket: how many requests one IP, one email (named in the body) and one org (the caller's) may make per window. */
export type RateLimits = Record<string, { perIp: RateLimitRule; perEmail?: RateLimitRule; perOrg?: RateLimitRule }>;

/** Every API key's budget of requests per minute (a key may carry its own), counted across instances. */
export interface ApiKeyRateLimit {
  /** API_KEY_RATE_LIMIT_PER_MINUTE: the budget of a key without one of its own. */
  perMinute: number;
  /** API_KEY_RATE_LIMIT_SYNC_MS: how often, at most, an instance shares a key's count through Postgres (and reads the others'). */
  syncMs: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  login: { perIp: { limit: 100, windowSeconds: 300 }, perEmail: { limit: 10, windowSeconds: 300 } },
  admin_pin: { perIp: { limit: 30, windowSeconds: 900 }, perEmail: { limit: 10, windowSeconds: 900 } },
  signup: { perIp: { limit: 20, windowSeconds: 3600 }, perEmail: { limit: 5, windowSeconds: 3600 } },
  magic_link: { perIp: { limit: 30, windowSeconds: 900 }, perEmail: { limit: 5, windowSeconds: 900 } },
  // Each export makes up to hundreds of outbound requests: an org may not turn Warden into a traffic source.
  siem_export: { perIp: { limit: 120, windowSeconds: 3600 }, perOrg: { limit: 60, windowSeconds: 3600 } },
  // Each SSO start stores an attempt and each callback calls the identity provider.
  oidc: { perIp: { limit: 60, windowSeconds: 300 } },
  // The public statistics need no credential: a client may not make Warden aggregate for it without end.
  public_stats: { perIp: { limit: 60, windowSeconds: 60 } },
  // Each ticket sends a mail or a Slack message to the support team: nobody may flood them.
  support: { perIp: { limit: 60, windowSeconds: 3600 }, perOrg: { limit: 30, windowSeconds: 3600 } },
  // Each image scan reads up to IMAGE_SCAN_MAX_TOTAL_BYTES from a registry: an org may not make Warden a download engine.
  image_scan: { perIp: { limit: 240, windowSeconds: 3600 }, perOrg: { limit: 120, windowSeconds: 3600 } },
};

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
    return Number.isInteger(value) && value >= min && value <= max ? value : `must be a whole number from ${min} to ${max}`;
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
  const jwtSecret = env.JWT_SECRET?.trim() || undefined;
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) problems.push('JWT_SECRET: must be at least 32 bytes');
  const smtpUrl = env.SMTP_URL?.trim() || undefined;
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^\s]+$/.test(smtpUrl)) problems.push('SMTP_URL: must be an smtp:// or smtps:// URL');
  const defaultOrgPlan = env.DEFAULT_ORG_PLAN?.trim() || 'enterprise';
  if (!(PLAN_NAMES as readonly string[]).includes(defaultOrgPlan)) {
    problems.push(`DEFAULT_ORG_PLAN: must be one of ${PLAN_NAMES.join(', ')} (got ${JSON.stringify(defaultOrgPlan)})`);
  }
  const publicUrl = (env.PUBLIC_URL?.trim() || 'http://localhost:9300').replace(/\/+$/, '');
  if (!isHttpUrl(publicUrl)) problems.push('PUBLIC_URL: must be an http:// or https:// URL');
  const redirectAllowedOrigins: string[] = [];
  for (const origin of (env.REDIRECT_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    if (isHttpUrl(origin)) redirectAllowedOrigins.push(new URL(origin).origin);
    else problems.push(`REDIRECT_ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an http:// or https:// origin`);
  }
  const corsAllowedOrigins: string[] = [];
  for (const origin of (env.CORS_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    if (origin === '*') corsAllowedOrigins.push(origin);
    else if (isHttpUrl(origin) && new URL(origin).origin === origin.replace(/\/+$/, '').toLowerCase())
      corsAllowedOrigins.push(new URL(origin).origin);
    else problems.push(`CORS_ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://console.example.com (or *)`);
  }
  const url = (name: string, fallback?: string): string | undefined => {
    const value = env[name]?.trim() || fallback;
    if (value !== undefined && !isHttpUrl(value)) problems.push(`${name}: must be an http:// or https:// URL`);
    return value;
  };
  const outboundAllowedHosts: string[] = [];
  for (const host of (env.OUTBOUND_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean)) {
    if (/^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(host) && isHttpUrl(`http://${host}`)) outboundAllowedHosts.push(host);
    else problems.push(`OUTBOUND_ALLOWED_HOSTS: ${JSON.stringify(host)} is not a host or host:port`);
  }
  const outboundCaFile = env.OUTBOUND_CA_FILE?.trim() || undefined;
  if (outboundCaFile !== undefined && !isReadableFile(outboundCaFile))
    problems.push(`OUTBOUND_CA_FILE: ${outboundCaFile} is not a readable file`);
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(logLevel)})`);
  }

  const feeMode = env.BILLING_FEE_MODE?.trim() || 'take_rate';
  if (!(FEE_MODES as readonly string[]).includes(feeMode)) {
    problems.push(`BILLING_FEE_MODE: must be one of ${FEE_MODES.join(', ')} (got ${JSON.stringify(feeMode)})`);
  }
  // Parsed digit by digit, never through a float, so 0.0025 is exactly 2500 micro-dollars.
  const usdMicros = (raw: string) => {
    const match = /^(\d{1,4})(?:\.(\d{1,6}))?$/.exec(raw);
    const micros = match ? Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0')) : Number.NaN;
    return micros <= 1000 * 1_000_000 ? micros : 'must be US dollars from 0 to 1000 with at most 6 decimals';
  };

  const devReturnLinkTokens = read('DEV_RETURN_LINK_TOKENS', false, boolean);
  if (devReturnLinkTokens && env.NODE_ENV?.trim() === 'production') {
    problems.push('DEV_RETURN_LINK_TOKENS: must not be on with NODE_ENV=production (it hands login links to whoever asks for them)');
  }

  const rawEncryptionKey = env.WARDEN_ENCRYPTION_KEY?.trim() || undefined;
  const parsedEncryptionKey = rawEncryptionKey === undefined ? undefined : parseEncryptionKey(rawEncryptionKey);
  if (typeof parsedEncryptionKey === 'string') problems.push(`WARDEN_ENCRYPTION_KEY: ${parsedEncryptionKey}`);
  const encryptionKey = typeof parsedEncryptionKey === 'string' ? undefined : parsedEncryptionKey;

  const oidc = oidcConfig(env, publicUrl, problems);

  const config: Config = {
    port: read('PORT', 9300, integer(0, 65535)),
    host: env.HOST?.trim() || '0.0.0.0',
    databaseUrl,
    dataDir: env.WARDEN_DATA_DIR?.trim() || '.data',
    dbPoolSize: read('DB_POOL_SIZE', 10, integer(1, 500)),
    dbConnectTimeoutMs: read('DB_CONNECT_TIMEOUT_MS', 3000, integer(100, 60_000)),
    dbPreparedStatements: read('DB_PREPARED_STATEMENTS', true, boolean),
    logLevel: logLevel as LogLevel,
    bodyLimitBytes: read('BODY_LIMIT_BYTES', 1024 * 1024, integer(1024, 100 * 1024 * 1024)),
    shutdownTimeoutMs: read('SHUTDOWN_TIMEOUT_MS', 10_000, integer(0, 600_000)),
    validateResponses: read('VALIDATE_RESPONSES', false, boolean),
    jwtSecret,
    jwtTtlMinutes: read('JWT_TTL_MINUTES', 30, integer(15, 60)),
    adminSessionTtlMinutes: read('ADMIN_SESSION_TTL_MINUTES', 420, integer(5, 24 * 60)),
    platformAdminEmails: (env.PLATFORM_ADMIN_EMAILS ?? '')
      .split(',')
      .map((email) => email.trim().toLowerCase())
      .filter(Boolean),
    smtpUrl,
    devReturnLinkTokens,
    mailFrom: env.MAIL_FROM?.trim() || 'Warden <warden@localhost>',
    publicUrl,
    corsAllowedOrigins,
    redirectAllowedOrigins,
    upgradeUrl: env.UPGRADE_URL?.trim() || 'http://localhost:9300/docs#tag/orgs',
    defaultOrgPlan: defaultOrgPlan as PlanName,
    rateLimits: DEFAULT_RATE_LIMITS,
    apiKeyRateLimit: {
      perMinute: read('API_KEY_RATE_LIMIT_PER_MINUTE', 1200, integer(1, 100_000)),
      syncMs: read('API_KEY_RATE_LIMIT_SYNC_MS', 1000, integer(0, 60_000)),
    },
    outbound: {
      allowedHosts: outboundAllowedHosts,
      timeoutMs: read('OUTBOUND_TIMEOUT_MS', 10_000, integer(100, 120_000)),
      retryBaseMs: read('OUTBOUND_RETRY_BASE_MS', 500, integer(0, 60_000)),
      caFile: outboundCaFile,
    },
    siem: {
      datadogApiKey: env.DATADOG_API_KEY?.trim() || undefined,
      datadogIntakeUrl: url('DATADOG_INTAKE_URL', 'https://http-intake.logs.datadoghq.com/api/v2/logs')!,
      splunkHecToken: env.SPLUNK_HEC_TOKEN?.trim() || undefined,
      splunkHecUrl: url('SPLUNK_HEC_URL'),
      pagerdutyRoutingKey: env.PAGERDUTY_ROUTING_KEY?.trim() || undefined,
      pagerdutyEventsUrl: url('PAGERDUTY_EVENTS_URL', 'https://events.pagerduty.com/v2/enqueue')!,
      exportTimeoutMs: read('SIEM_EXPORT_TIMEOUT_MS', 60_000, integer(1000, 600_000)),
    },
    billing: {
      feeMode: feeMode as FeeMode,
      takeRateBps: read('BILLING_TAKE_RATE_BPS', 0, integer(0, 10_000)),
      feePerActionMicros: read('BILLING_FEE_PER_ACTION_USD', 0, usdMicros),
    },
    approvals: {
      ttlMinutes: read('APPROVAL_TTL_MINUTES', 15, integer(1, 7 * 24 * 60)),
      maxWaits: read('APPROVAL_MAX_WAITS', 200, integer(1, 10_000)),
      maxWaitsPerOrg: read('APPROVAL_MAX_WAITS_PER_ORG', 20, integer(1, 10_000)),
    },
    jobs: {
      visibilityTimeoutSeconds: read('JOB_VISIBILITY_TIMEOUT_SECONDS', 300, integer(1, 86_400)),
      maxWaits: read('JOB_MAX_WAITS', 400, integer(1, 10_000)),
      maxWaitsPerOrg: read('JOB_MAX_WAITS_PER_ORG', 80, integer(1, 10_000)),
    },
    gateway: {
      timeoutMs: read('GATEWAY_TIMEOUT_MS', 60_000, integer(100, 600_000)),
      maxRequestBytes: read('GATEWAY_MAX_REQUEST_BYTES', 32 * 1024 * 1024, integer(0, 1024 * 1024 * 1024)),
    },
    encryptionKey,
    gitops: {
      enabled: read('GITOPS_ENABLED', false, boolean),
      observationWindowMinutes: read('GITOPS_OBSERVATION_WINDOW_MINUTES', 30, integer(1, 24 * 60)),
      recheckSeconds: read('GITOPS_RECHECK_SECONDS', 5, integer(0, 300)),
    },
    ...(oidc && { oidc }),
    support: supportConfig(env, url, problems),
    stripe: {
      secretKey: env.STRIPE_SECRET_KEY?.trim() || undefined,
      apiBase: url('STRIPE_API_BASE', 'https://api.stripe.com')!,
      webhookSecret: env.STRIPE_WEBHOOK_SECRET?.trim() || undefined,
    },
    images: {
      osvDataDir: env.OSV_DATA_DIR?.trim() || undefined,
      defaultRegistry: hostOf(
        'IMAGE_DEFAULT_REGISTRY',
        env.IMAGE_DEFAULT_REGISTRY?.trim().toLowerCase() || 'registry-1.docker.io',
        problems,
      ),
      insecureRegistries: (env.IMAGE_INSECURE_REGISTRIES ?? '')
        .split(',')
        .map((entry) => entry.trim().toLowerCase())
        .filter(Boolean)
        .map((host) => hostOf('IMAGE_INSECURE_REGISTRIES', host, problems)),
      maxLayerBytes: read('IMAGE_SCAN_MAX_LAYER_BYTES', 512 * 1024 * 1024, integer(1024, 64 * 1024 ** 3)),
      maxTotalBytes: read('IMAGE_SCAN_MAX_TOTAL_BYTES', 2 * 1024 ** 3, integer(1024, 256 * 1024 ** 3)),
      maxUnpackedBytes: read('IMAGE_SCAN_MAX_UNPACKED_BYTES', 8 * 1024 ** 3, integer(1024, 1024 ** 4)),
      maxCompressionRatio: read('IMAGE_SCAN_MAX_COMPRESSION_RATIO', 100, integer(2, 100_000)),
      scanTimeoutMs: read('IMAGE_SCAN_TIMEOUT_MS', 600_000, integer(1000, 24 * 3_600_000)),
      concurrency: read('IMAGE_SCAN_CONCURRENCY', 2, integer(1, 64)),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** `a=b,c=d` into a record; a malformed pair is a problem named after the variable. */
function pairs(env: Env, name: string, problems: string[], valid: (value: string) => boolean): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of (env[name] ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const at = entry.lastIndexOf('=');
    const [key, value] = [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
    if (at > 0 && key && valid(value)) result[key] = value;
    else problems.push(`${name}: ${JSON.stringify(entry)} is not claim-value=target with a valid target`);
  }
  return result;
}

/** OIDC_* variables: all of issuer, client id and allowed domains, or none (SSO off). */
function oidcConfig(env: Env, publicUrl: string, problems: string[]): OidcConfig | undefined {
  const issuer = env.OIDC_ISSUER?.trim() || undefined;
  const clientId = env.OIDC_CLIENT_ID?.trim() || undefined;
  if (issuer === undefined) {
    if (clientId !== undefined) problems.push('OIDC_CLIENT_ID: is set but OIDC_ISSUER is not');
    return undefined;
  }
  // openid-client speaks only https to a provider; an internal one needs OUTBOUND_CA_FILE, not plain http.
  if (!isHttpUrl(issuer) || new URL(issuer).protocol !== 'https:') problems.push('OIDC_ISSUER: must be an https:// URL');
  if (clientId === undefined) problems.push('OIDC_CLIENT_ID: is required with OIDC_ISSUER');
  const redirectUrl = env.OIDC_REDIRECT_URL?.trim() || `${publicUrl}/api/v1/auth/oidc/callback`;
  if (!isHttpUrl(redirectUrl)) problems.push('OIDC_REDIRECT_URL: must be an http:// or https:// URL');
  const allowedEmailDomains = (env.OIDC_ALLOWED_EMAIL_DOMAINS ?? '')
    .split(',')
    .map((domain) => domain.trim().toLowerCase())
    .filter(Boolean);
  // A multi-tenant provider (Google, Entra ID) signs in anyone with an account: "any domain" must be said out loud.
  if (allowedEmailDomains.length === 0) problems.push('OIDC_ALLOWED_EMAIL_DOMAINS: is required with OIDC_ISSUER (a list, or * for any)');
  const isRole = (value: string) => (BUILT_IN_ROLES as readonly string[]).includes(value);
  const isOrgId = (value: string) => /^org_[A-Za-z0-9]{1,64}$/.test(value);
  const defaultOrg = env.OIDC_DEFAULT_ORG?.trim() || undefined;
  if (defaultOrg !== undefined && !isOrgId(defaultOrg)) problems.push('OIDC_DEFAULT_ORG: must be an org id (org_…)');
  const defaultRole = env.OIDC_DEFAULT_ROLE?.trim() || 'member';
  if (!isRole(defaultRole)) problems.push(`OIDC_DEFAULT_ROLE: must be one of ${BUILT_IN_ROLES.join(', ')}`);
  const scopes = (env.OIDC_SCOPES?.trim() || 'openid email profile').split(/\s+/);
  if (!scopes.includes('openid')) problems.push('OIDC_SCOPES: must include openid');
  return {
    issuer,
    clientId: clientId ?? '',
    clientSecret: env.OIDC_CLIENT_SECRET?.trim() || undefined,
    redirectUrl,
    scopes,
    allowedEmailDomains,
    orgClaim: env.OIDC_ORG_CLAIM?.trim() || undefined,
    orgMap: pairs(env, 'OIDC_ORG_MAP', problems, isOrgId),
    defaultOrg,
    roleClaim: env.OIDC_ROLE_CLAIM?.trim() || undefined,
    roleMap: pairs(env, 'OIDC_ROLE_MAP', problems, isRole) as Record<string, BuiltInRoleName>,
    defaultRole: defaultRole as BuiltInRoleName,
  };
}

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** A registry host (`name` or `name:port`, lower case). */
function hostOf(name: string, host: string, problems: string[]): string {
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/.test(host))
    problems.push(`${name}: ${JSON.stringify(host)} is not a host or host:port`);
  return host;
}

/** SUPPORT_*: the mailbox must be one address (it becomes a mail header), the webhook an absolute URL. */
function supportConfig(env: Env, url: (name: string) => string | undefined, problems: string[]): SupportConfig {
  const email = env.SUPPORT_EMAIL?.trim() || undefined;
  if (email !== undefined && !/^[^\s@,<>]+@[^\s@,<>]+$/.test(email)) problems.push('SUPPORT_EMAIL: must be one email address');
  return { email, slackWebhookUrl: url('SUPPORT_SLACK_WEBHOOK_URL') };
}
