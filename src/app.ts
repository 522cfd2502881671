import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { createAccessGate } from './auth/access-gate';
import { Authenticator } from './auth/authenticator';
import { type Binding, createBinding } from './binding/binding';
import { browserHeaders } from './binding/browser-headers';
import type { AnyHandler } from './binding/handler-types';
import { type LoadedSpec, loadCompiledSpec, loadSpec } from './binding/loaded-spec';
import type { Config } from './config/config';
import type { Database } from './db/database';
import { errorHandler } from './errors/error-handler';
import { createHttpLogger } from './logging/http-logging';
import { createMetrics } from './metrics/metrics';
import { handlers as wardenHandlers } from './modules';
import { AgentCredentialLookup } from './modules/agents';
import { createServices, type Services } from './modules/services';
import { type ContractDocuments, loadContractDocuments } from './modules/system';

export interface AppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  /** The published contract; defaults to generated/. */
  contract?: ContractDocuments;
  /** The contract's spec, loaded already (the server checks it before opening the database). */
  spec?: LoadedSpec;
  /** The spec to bind, compiled on the fly; defaults to the published contract as generate compiled it. Tests bind fixture specs. */
  definition?: object | string;
  handlers?: Record<string, AnyHandler>;
}

export interface App {
  app: Express;
  binding: Binding;
  services: Services;
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config, database, logger } = options;
  const contract = options.contract ?? loadContractDocuments();
  const metrics = createMetrics(() => database.poolStats());
  const services = createServices({ config, database, logger, metrics, contract });
  const agentCredentials = new AgentCredentialLookup(services.agents, services.installations);
  const authenticator = new Authenticator(services.loginTokens, agentCredentials, services.apiKeys, services.auth, services.gatewayKeys);
  const spec = options.definition ? await loadSpec(options.definition) : (options.spec ?? loadCompiledSpec(contract.json));
  const binding = createBinding({
    spec,
    handlers: options.handlers ?? wardenHandlers,
    services,
    bodyLimitBytes: config.bodyLimitBytes,
    validateResponses: config.validateResponses,
    featureFlags: new Set(config.gitops.enabled ? ['GITOPS_ENABLED'] : []),
    gate: (operations) =>
      createAccessGate({
        operations,
        authenticator,
        rateLimiter: services.rateLimits,
        rateLimitBuckets: Object.keys(config.rateLimits),
        upgradeUrl: config.upgradeUrl,
        db: services.db,
        audit: services.audit,
        validateResponses: config.validateResponses,
      }),
  });

  const app = express();
  app.disable('x-powered-by');
  // OpenAPI query styles have no qs-style nesting (`a[b]=1`); keep query values flat strings.
  app.set('query parser', 'simple');
  app.use(createHttpLogger(logger));
  app.use(metrics.middleware);
  app.use(browserHeaders(config.corsAllowedOrigins, binding.matcher));
  app.use(binding.middleware);
  app.use(errorHandler);
  return { app, binding, services };
}
