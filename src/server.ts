import type { AddressInfo } from 'node:net';
import { type AppOptions, createApp } from './app';
import { HandlerRegistryError } from './binding/binding';
import { loadCompiledSpec, StaleSpecError } from './binding/loaded-spec';
import { OperationTableError } from './binding/operation-table';
import { ConfigError, loadConfig } from './config/config';
import { openDatabase } from './db/database';
import { answerClientErrors } from './errors/client-error';
import { createLogger } from './logging/logger';
import { ensureFirstOrg } from './modules/orgs';
import { loadContractDocuments } from './modules/system';

/**
 * The server process (`npm start` runs it through src/main.ts): configuration, database
 * (embedded unless DATABASE_URL is set), migrations, binding, then the HTTP server; SIGTERM/SIGINT
 * drain in-flight requests before closing. The bench starts it with a padded spec.
 */
const MAINTENANCE_INTERVAL_MS = 3_600_000;
const BROKER_SWEEP_INTERVAL_MS = 60_000;

type SpecOptions = Pick<AppOptions, 'contract' | 'handlers'> & {
  /** Where generate compiled the contract's spec (default generated/binding). */
  compiledDir?: string;
};

async function main(spec: SpecOptions): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // A stale generated/ is refused before the database is opened, so the operator hears of it at once.
  const contract = spec.contract ?? loadContractDocuments();
  const compiled = loadCompiledSpec(contract.json, spec.compiledDir);
  const database = await openDatabase(
    config.databaseUrl
      ? { kind: 'server', url: config.databaseUrl, poolSize: config.dbPoolSize, connectTimeoutMs: config.dbConnectTimeoutMs }
      : { kind: 'embedded', dataDir: config.dataDir },
  );
  logger.info({ database: database.embedded ? `embedded (${config.dataDir})` : 'DATABASE_URL' }, 'database ready');

  const { app, services } = await createApp({ config, database, logger, handlers: spec.handlers, contract, spec: compiled });
  const server = app.listen(config.port, config.host);
  answerClientErrors(server, logger);
  // The signal handlers below are in place before a request can be answered: a supervisor (or the
  // bench) that stops Warden at its first /healthz 200 got the default kill, and the embedded
  // database was not closed (its next start recovered it).

  // Hourly maintenance, and once at start-up: expired audit events go (each cut leaves a signed
  // checkpoint), so do rate-limit windows that ended over a day ago and refresh-token replays
  // whose grace window has closed; audit events a crash left unchained are chained (at start-up all
  // of them; later those a minute old, younger ones being on their way to their chain).
  const maintain = (unchainedAgeSeconds: number) =>
    Promise.all([
      services.orgs
        .auditRetentionDays()
        .then((retention) => services.audit.purgeExpired(retention))
        .then((purged) => Object.keys(purged).length > 0 && logger.info({ purged }, 'expired audit events purged')),
      services.rateLimits.prune(),
      services.installations.forgetExpiredReplays(),
      services.audit
        .sweepPending(unchainedAgeSeconds)
        .then((chains) => chains > 0 && logger.warn({ chains }, 'audit events left unchained (a crash or an outage) are now chained')),
    ]).catch((error: Error) => logger.error({ err_message: error.message }, 'maintenance failed'));
  const maintenanceTimer = setInterval(() => maintain(60), MAINTENANCE_INTERVAL_MS);
  maintenanceTimer.unref();
  // Every minute: access requests still pending past their deadline are written expired, and wrap
  // values past theirs are destroyed (reads already refuse both; this keeps no ciphertext past its time).
  const expireBroker = () =>
    Promise.all([services.accessRequests.expireDue(), services.wraps.destroyExpired()]).catch((error: Error) =>
      logger.error({ err_message: error.message }, 'broker expiry sweep failed'),
    );
  const brokerTimer = setInterval(expireBroker, BROKER_SWEEP_INTERVAL_MS);
  brokerTimer.unref();
  // At start-up and every minute: image scans a stopped instance left running are marked failed
  // (never re-run on their own), and queued ones are taken by this instance's workers.
  const recoverScans = () =>
    services.images.recover().catch((error: Error) => logger.error({ err_message: error.message }, 'image scan recovery failed'));
  const scanTimer = setInterval(recoverScans, BROKER_SWEEP_INTERVAL_MS);
  scanTimer.unref();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    clearInterval(maintenanceTimer);
    clearInterval(brokerTimer);
    clearInterval(scanTimer);
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing their connections');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    // Keep-alive connections become idle as their last request finishes; close each promptly.
    const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
    server.close(async () => {
      clearTimeout(force);
      clearInterval(closeIdle);
      // Answered requests' audit events may still be on their way to their chain; a failure leaves them for the next start's sweep.
      await services.audit.settled().catch((error: Error) => logger.error({ err_message: error.message }, 'audit events left unchained'));
      await database.close();
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  // Only once the port is ours: the first-start key is printed below without another await, so
  // a start that fails (port taken) creates nothing, and one that creates the key prints it.
  const firstStart = await ensureFirstOrg({
    orgs: services.orgs,
    apiKeys: services.apiKeys,
    audit: services.audit,
    plan: config.defaultOrgPlan,
  }).catch((error: unknown) => {
    // A stop meanwhile closed the database under it: that is the stop, not a failed start.
    if (stopping) return undefined;
    throw error;
  });

  if (!stopping) void recoverScans();

  // Announced only once the signal handlers are in place: a supervisor that stops Warden as soon
  // as it reports listening must get a drained shutdown, not the default kill.
  logger.info({ port }, `Warden listening on http://localhost:${port} (docs at http://localhost:${port}/docs)`);
  if (firstStart) printFirstStartCredential(firstStart.org.id, firstStart.apiKey.key, port);
  if (!stopping) void maintain(0);
}

/**
 * The first-start owner key goes to the console once, outside the structured log: it is the
 * operator's to copy now, and no log pipeline should keep it.
 */
function printFirstStartCredential(orgId: string, key: string, port: number): void {
  const lines = [
    '',
    `  First start: Warden created the org ${orgId} and an owner API key for it.`,
    '  It is shown this once and stored only as a hash. Copy it now:',
    '',
    `      ${key}`,
    '',
    `  Try it:  curl -H "X-API-Key: ${key}" http://localhost:${port}/api/v1/auth/me`,
    '  Then create an owner user with it (POST /api/v1/users, "role": "owner") and revoke it (DELETE /api/v1/api-keys/{id}).',
    '  Lost it? `npm run admin -- create-owner-key` makes a new one from the database, no key needed.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function startServer(spec: SpecOptions = {}): void {
  main(spec).catch(failedToStart);
}

function failedToStart(error: unknown): void {
  // Start-up problems are the operator's to fix: say what is wrong, without a stack trace.
  const known = [ConfigError, HandlerRegistryError, OperationTableError, StaleSpecError].some((type) => error instanceof type);
  const message = error instanceof Error ? error.message : String(error);
  console.error(`Warden could not start: ${known ? message : `${(error as Error)?.name ?? 'Error'}: ${message}`}`);
  process.exit(1);
}
