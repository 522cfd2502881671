import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { createAccessGate } from './auth/access-gate';
import { Authenticator } from './auth/authenticator';
import { LoginTokens } from './auth/login-tokens';
import { RateLimiter } from './auth/rate-limiter';
import { SigningKey } from './auth/signing-key';
import { createBinding, type Binding } from './binding/binding';
import { browserHeaders } from './binding/browser-headers';
import { Db } from './db/db';
import { InstanceSecrets } from './db/instance-secrets';
import { Mailer } from './mail/mailer';
import { AdminService } from './modules/admin/admin-service';
import { AuditService } from './modules/audit/audit-service';
import { ComplianceService } from './modules/audit/compliance-service';
import { SiemExportService } from './modules/audit/siem-export-service';
import { OutboundHttp, outboundPolicy } from './outbound/outbound-http';
import { AgentCredentialLookup } from './modules/agents/agent-credentials';
import { AgentService } from './modules/agents/agent-service';
import { InstallationService } from './modules/installations/installation-service';
import { TrustService } from './modules/trust/trust-service';
import { ApiKeyService } from './modules/api-keys/api-key-service';
import { AuthService } from './modules/auth/auth-service';
import { LoginLinkService } from './modules/auth/login-link-service';
import { EnvironmentService } from './modules/workspaces/environment-service';
import { OrgService } from './modules/orgs/org-service';
import { RbacService } from './modules/rbac/rbac-service';
import { UserService } from './modules/users/user-service';
import { WorkspaceService } from './modules/workspaces/workspace-service';
import type { AnyHandler } from './binding/handler-types';
import type { Config } from './config/config';
import type { Database } from './db/database';
import { errorHandler } from './errors/error-handler';
import { createHttpLogger } from './logging/http-logging';
import { createMetrics } from './metrics/metrics';
import { handlers as wardenHandlers } from './modules';
import { loadContractDocuments, type ContractDocuments } from './modules/system/contract-documents';
import { SystemService } from './modules/system/system-service';
import type { Services } from './services';

export interface AppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  /** The published contract; defaults to generated/. */
  contract?: ContractDocuments;
  /** The spec to bind; defaults to the published contract. Tests bind fixture specs. */
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
  const authenticator = new Authenticator(database.dataSource, services.loginTokens, new AgentCredentialLookup(services.db));
  const binding = await createBinding({
    definition: options.definition ?? contract.json,
    handlers: options.handlers ?? wardenHandlers,
    services,
    bodyLimitBytes: config.bodyLimitBytes,
    validateResponses: config.validateResponses,
    gate: (operations) =>
      createAccessGate({
        operations,
        authenticator,
        rateLimiter: services.rateLimits,
        rateLimitBuckets: Object.keys(config.rateLimits),
        upgradeUrl: config.upgradeUrl,
        db: services.db,
        audit: services.audit,
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

function createServices(options: Pick<Services, 'config' | 'database' | 'metrics' | 'contract'> & { logger: Logger }): Services & { loginTokens: LoginTokens } {
  const { config, database, logger } = options;
  const db = new Db(database.dataSource);
  // Instance secrets are read and created outside any request transaction, so a key is never
  // cached in memory while the row that holds it might still roll back.
  const secrets = new InstanceSecrets(database.dataSource);
  const loginTokens = new LoginTokens(secrets, config.jwtSecret, config.jwtTtlMinutes);
  const mailer = new Mailer(db, logger, config.smtpUrl, config.mailFrom);
  const signingKey = new SigningKey(secrets);
  const audit = new AuditService(db, signingKey);
  const orgs = new OrgService(db, config.upgradeUrl);
  const users = new UserService(db, orgs);
  const agents = new AgentService(db, orgs, audit);
  return {
    ...options,
    db,
    loginTokens,
    mailer,
    audit,
    siem: new SiemExportService(audit, orgs, new OutboundHttp(outboundPolicy(config.outbound)), config.siem),
    compliance: new ComplianceService(db, orgs, agents, audit),
    rateLimits: new RateLimiter(database.dataSource, config.rateLimits),
    system: new SystemService(database),
    auth: new AuthService(
      db,
      loginTokens,
      orgs,
      new LoginLinkService(db, mailer, logger, {
        publicUrl: config.publicUrl,
        redirectAllowedOrigins: config.redirectAllowedOrigins,
        returnTokens: config.devReturnLinkTokens,
      }),
      secrets,
      audit,
    ),
    admin: new AdminService(db, mailer, secrets, new Set(config.platformAdminEmails), config.adminSessionTtlMinutes, audit),
    orgs,
    users,
    workspaces: new WorkspaceService(db, orgs, users),
    environments: new EnvironmentService(db, orgs),
    apiKeys: new ApiKeyService(db, orgs),
    rbac: new RbacService(db, orgs, users),
    agents,
    installations: new InstallationService(db, orgs, agents, logger, audit),
    trust: new TrustService(db, orgs, signingKey, audit),
  };
}
