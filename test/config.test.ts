import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_RATE_LIMITS, loadConfig } from '../src/config/config';

describe('configuration from the environment', () => {
  it('has working defaults: port 9300, embedded database in .data', () => {
    const config = loadConfig({});
    assert.equal(config.port, 9300);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, '.data');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.bodyLimitBytes, 1048576);
    assert.equal(config.validateResponses, false);
    assert.equal(config.dbPreparedStatements, true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgresql://warden:pw@db:5432/warden',
      WARDEN_DATA_DIR: '/var/lib/warden',
      DB_POOL_SIZE: '20',
      DB_CONNECT_TIMEOUT_MS: '1500',
      DB_PREPARED_STATEMENTS: 'false',
      CORS_ALLOWED_ORIGINS: 'https://console.example.com, http://localhost:3000',
      LOG_LEVEL: 'debug',
      BODY_LIMIT_BYTES: '65536',
      SHUTDOWN_TIMEOUT_MS: '500',
      VALIDATE_RESPONSES: 'true',
      JWT_SECRET: 'a-secret-of-at-least-thirty-two-bytes!',
      JWT_TTL_MINUTES: '15',
      ADMIN_SESSION_TTL_MINUTES: '60',
      PLATFORM_ADMIN_EMAILS: ' Root@Example.com, ops@example.com ,',
      SMTP_URL: 'smtp://mail:2525',
      DEV_RETURN_LINK_TOKENS: 'true',
      MAIL_FROM: 'Warden <noreply@example.com>',
      UPGRADE_URL: 'https://example.com/billing',
      DEFAULT_ORG_PLAN: 'free',
      PUBLIC_URL: 'https://warden.example.com/',
      REDIRECT_ALLOWED_ORIGINS: 'https://console.example.com/some/path, http://localhost:3000',
      OUTBOUND_ALLOWED_HOSTS: 'Splunk.Internal:8088, 127.0.0.1,[::1]',
      OUTBOUND_TIMEOUT_MS: '2500',
      OUTBOUND_RETRY_BASE_MS: '100',
      OUTBOUND_CA_FILE: 'package.json',
      DATADOG_API_KEY: 'dd-key',
      DATADOG_INTAKE_URL: 'https://http-intake.logs.datadoghq.eu/api/v2/logs',
      SPLUNK_HEC_TOKEN: 'hec-token',
      SPLUNK_HEC_URL: 'http://splunk.internal:8088/services/collector',
      PAGERDUTY_ROUTING_KEY: 'pd-key',
      PAGERDUTY_EVENTS_URL: 'https://events.eu.pagerduty.com/v2/enqueue',
      SIEM_EXPORT_TIMEOUT_MS: '30000',
      BILLING_FEE_MODE: 'per_action',
      BILLING_TAKE_RATE_BPS: '250',
      BILLING_FEE_PER_ACTION_USD: '0.0025',
      WARDEN_ENCRYPTION_KEY: '00'.repeat(32),
      API_KEY_RATE_LIMIT_PER_MINUTE: '600',
      API_KEY_RATE_LIMIT_SYNC_MS: '250',
      GITOPS_ENABLED: 'yes',
      GITOPS_OBSERVATION_WINDOW_MINUTES: '45',
      GITOPS_RECHECK_SECONDS: '0',
      SUPPORT_EMAIL: 'support@example.com',
      SUPPORT_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/xyz',
      STRIPE_SECRET_KEY: 'sk_test_123',
      STRIPE_API_BASE: 'http://stripe-mock:12111',
      STRIPE_WEBHOOK_SECRET: 'whsec_123',
      OSV_DATA_DIR: '/var/lib/osv',
      IMAGE_DEFAULT_REGISTRY: 'registry.example.com',
      IMAGE_INSECURE_REGISTRIES: 'Registry.Internal:5000, localhost',
      IMAGE_SCAN_MAX_LAYER_BYTES: '1048576',
      IMAGE_SCAN_MAX_TOTAL_BYTES: '4194304',
      IMAGE_SCAN_MAX_UNPACKED_BYTES: '8388608',
      IMAGE_SCAN_MAX_COMPRESSION_RATIO: '250',
      IMAGE_SCAN_TIMEOUT_MS: '60000',
      IMAGE_SCAN_CONCURRENCY: '4',
    });
    assert.deepEqual(config, {
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://warden:pw@db:5432/warden',
      dataDir: '/var/lib/warden',
      dbPoolSize: 20,
      dbConnectTimeoutMs: 1500,
      dbPreparedStatements: false,
      corsAllowedOrigins: ['https://console.example.com', 'http://localhost:3000'],
      logLevel: 'debug',
      bodyLimitBytes: 65536,
      shutdownTimeoutMs: 500,
      validateResponses: true,
      jwtSecret: 'a-secret-of-at-least-thirty-two-bytes!',
      jwtTtlMinutes: 15,
      adminSessionTtlMinutes: 60,
      platformAdminEmails: ['root@example.com', 'ops@example.com'],
      smtpUrl: 'smtp://mail:2525',
      devReturnLinkTokens: true,
      mailFrom: 'Warden <noreply@example.com>',
      publicUrl: 'https://warden.example.com',
      redirectAllowedOrigins: ['https://console.example.com', 'http://localhost:3000'],
      upgradeUrl: 'https://example.com/billing',
      defaultOrgPlan: 'free',
      rateLimits: DEFAULT_RATE_LIMITS,
      apiKeyRateLimit: { perMinute: 600, syncMs: 250 },
      outbound: { allowedHosts: ['splunk.internal:8088', '127.0.0.1', '[::1]'], timeoutMs: 2500, retryBaseMs: 100, caFile: 'package.json' },
      siem: {
        datadogApiKey: 'dd-key',
        datadogIntakeUrl: 'https://http-intake.logs.datadoghq.eu/api/v2/logs',
        splunkHecToken: 'hec-token',
        splunkHecUrl: 'http://splunk.internal:8088/services/collector',
        pagerdutyRoutingKey: 'pd-key',
        pagerdutyEventsUrl: 'https://events.eu.pagerduty.com/v2/enqueue',
        exportTimeoutMs: 30000,
      },
      billing: { feeMode: 'per_action', takeRateBps: 250, feePerActionMicros: 2500 },
      approvals: { ttlMinutes: 15, maxWaits: 200, maxWaitsPerOrg: 20 },
      jobs: { visibilityTimeoutSeconds: 300, maxWaits: 400, maxWaitsPerOrg: 80 },
      gateway: { timeoutMs: 60000, maxRequestBytes: 33554432 },
      encryptionKey: Buffer.alloc(32),
      gitops: { enabled: true, observationWindowMinutes: 45, recheckSeconds: 0 },
      support: { email: 'support@example.com', slackWebhookUrl: 'https://hooks.slack.com/services/T000/B000/xyz' },
      stripe: { secretKey: 'sk_test_123', apiBase: 'http://stripe-mock:12111', webhookSecret: 'whsec_123' },
      images: {
        osvDataDir: '/var/lib/osv',
        defaultRegistry: 'registry.example.com',
        insecureRegistries: ['registry.internal:5000', 'localhost'],
        maxLayerBytes: 1048576,
        maxTotalBytes: 4194304,
        maxUnpackedBytes: 8388608,
        maxCompressionRatio: 250,
        scanTimeoutMs: 60000,
        concurrency: 4,
      },
    });
  });

  it('defaults the image layer compression ratio to 100 and refuses one below 2', () => {
    assert.equal(loadConfig({}).images.maxCompressionRatio, 100);
    assert.throws(
      () => loadConfig({ IMAGE_SCAN_MAX_COMPRESSION_RATIO: '1' }),
      /IMAGE_SCAN_MAX_COMPRESSION_RATIO.*must be a whole number from 2 to 100000/,
    );
  });

  it('refuses an image registry that is not a host or host:port', () => {
    assert.throws(
      () => loadConfig({ IMAGE_DEFAULT_REGISTRY: 'https://registry.example.com/', IMAGE_INSECURE_REGISTRIES: 'ok.example.com, bad host' }),
      (error: Error) =>
        /IMAGE_DEFAULT_REGISTRY: "https:\/\/registry.example.com\/" is not a host/.test(error.message) &&
        /IMAGE_INSECURE_REGISTRIES: "bad host" is not a host/.test(error.message),
    );
  });

  it('refuses a SUPPORT_EMAIL that is not one address (it becomes a mail header) and a webhook that is not a URL', () => {
    assert.throws(
      () => loadConfig({ SUPPORT_EMAIL: 'a@example.com,\r\nBcc: b@example.com', SUPPORT_SLACK_WEBHOOK_URL: 'hooks.slack.com' }),
      (error: ConfigError) => error.problems.length === 2,
    );
  });

  it('names every bad variable at once, and never echoes DATABASE_URL (it may hold a password)', () => {
    assert.throws(
      () =>
        loadConfig({
          PORT: 'eighty',
          DATABASE_URL: 'mysql://root:secret@db/x',
          LOG_LEVEL: 'loud',
          DB_POOL_SIZE: '0',
          VALIDATE_RESPONSES: 'maybe',
          JWT_SECRET: 'short',
          JWT_TTL_MINUTES: '90',
          SMTP_URL: 'http://mail',
          DEFAULT_ORG_PLAN: 'gold',
          PUBLIC_URL: 'warden.example.com',
          REDIRECT_ALLOWED_ORIGINS: 'javascript:alert(1)',
          OUTBOUND_ALLOWED_HOSTS: 'http://splunk:8088/x',
          OUTBOUND_TIMEOUT_MS: '5',
          SPLUNK_HEC_URL: 'splunk:8088',
          OUTBOUND_CA_FILE: '/nonexistent/ca.pem',
          DB_CONNECT_TIMEOUT_MS: '10',
          CORS_ALLOWED_ORIGINS: 'https://console.example.com/app',
          BILLING_FEE_MODE: 'monthly',
          BILLING_TAKE_RATE_BPS: '10001',
          BILLING_FEE_PER_ACTION_USD: '0.0000001',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 20);
        assert.match(error.message, /DB_CONNECT_TIMEOUT_MS: must be a whole number from 100 to 60000/);
        assert.match(error.message, /CORS_ALLOWED_ORIGINS: "https:\/\/console\.example\.com\/app" is not an origin/);
        assert.match(error.message, /OUTBOUND_CA_FILE: \/nonexistent\/ca\.pem is not a readable file/);
        assert.match(error.message, /OUTBOUND_ALLOWED_HOSTS: "http:\/\/splunk:8088\/x" is not a host or host:port/);
        assert.match(error.message, /OUTBOUND_TIMEOUT_MS: must be a whole number from 100 to 120000/);
        assert.match(error.message, /SPLUNK_HEC_URL: must be an http:\/\/ or https:\/\/ URL/);
        assert.match(error.message, /PUBLIC_URL: must be an http:\/\/ or https:\/\/ URL/);
        assert.match(error.message, /REDIRECT_ALLOWED_ORIGINS: "javascript:alert\(1\)" is not an http:\/\/ or https:\/\/ origin/);
        assert.match(error.message, /JWT_SECRET: must be at least 32 bytes/);
        assert.match(error.message, /JWT_TTL_MINUTES: must be a whole number from 15 to 60/);
        assert.match(error.message, /SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/);
        assert.match(error.message, /DEFAULT_ORG_PLAN: must be one of free, starter, professional, enterprise/);
        assert.doesNotMatch(error.message, /short/);
        assert.match(error.message, /PORT: must be a whole number from 0 to 65535 \(got "eighty"\)/);
        assert.match(error.message, /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
        assert.match(error.message, /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/);
        assert.match(error.message, /DB_POOL_SIZE: must be a whole number from 1 to 500/);
        assert.match(error.message, /VALIDATE_RESPONSES: must be true or false/);
        assert.doesNotMatch(error.message, /secret/);
        assert.match(error.message, /BILLING_FEE_MODE: must be one of take_rate, per_action \(got "monthly"\)/);
        assert.match(error.message, /BILLING_TAKE_RATE_BPS: must be a whole number from 0 to 10000/);
        assert.match(error.message, /BILLING_FEE_PER_ACTION_USD: must be US dollars from 0 to 1000 with at most 6 decimals/);
        return true;
      },
    );
  });

  it('charges no fee by default, and reads a per-action fee exactly (never through a float)', () => {
    assert.deepEqual(loadConfig({}).billing, { feeMode: 'take_rate', takeRateBps: 0, feePerActionMicros: 0 });
    assert.equal(loadConfig({ BILLING_FEE_PER_ACTION_USD: '0.000001' }).billing.feePerActionMicros, 1);
    assert.equal(loadConfig({ BILLING_FEE_PER_ACTION_USD: '1000' }).billing.feePerActionMicros, 1_000_000_000);
    assert.equal(loadConfig({ BILLING_FEE_PER_ACTION_USD: '0.29' }).billing.feePerActionMicros, 290_000);
    for (const bad of ['1000.000001', '-1', '1e-3', '.5', '1,5'])
      assert.throws(() => loadConfig({ BILLING_FEE_PER_ACTION_USD: bad }), ConfigError);
  });

  it('treats empty variables as unset', () => {
    assert.equal(loadConfig({ PORT: '', DATABASE_URL: ' ' }).port, 9300);
    assert.equal(loadConfig({ DATABASE_URL: '' }).databaseUrl, undefined);
  });
});
