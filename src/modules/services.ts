import type { Logger } from 'pino';
import { LoginTokens } from '../auth/login-tokens';
import { RateLimiter } from '../auth/rate-limiter';
import { SigningKey } from '../auth/signing-key';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { Db } from '../db/db';
import { InstanceSecrets } from '../db/instance-secrets';
import { Mailer } from '../mail/mailer';
import type { Metrics } from '../metrics/metrics';
import { OutboundHttp, outboundPolicy } from '../outbound/outbound-http';
import { AdminService } from './admin/admin-service';
import { AgentService } from './agents/agent-service';
import { ApiKeyService } from './api-keys/api-key-service';
import { AuditService } from './audit/audit-service';
import { ComplianceService } from './audit/compliance-service';
import { SiemExportService } from './audit/siem-export-service';
import { AuthService } from './auth/auth-service';
import { LoginLinkService } from './auth/login-link-service';
import { InstallationService } from './installations/installation-service';
import { OrgService } from './orgs/org-service';
import { RbacService } from './rbac/rbac-service';
import type { ContractDocuments } from './system/contract-documents';
import { SystemService } from './system/system-service';
import { TrustService } from './trust/trust-service';
import { UserService } from './users/user-service';
import { EnvironmentService } from './workspaces/environment-service';
import { WorkspaceService } from './workspaces/workspace-service';

export interface ServiceOptions {
  config: Config;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  contract: ContractDocuments;
}

/** What every handler can reach through `context.services`: whatever the composition below builds. */
export type Services = ReturnType<typeof createServices>;

/** Builds every module's service once, in dependency order; createApp calls it. */
export function createServices(options: ServiceOptions) {
  const { config, database, logger, metrics, contract } = options;
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
    config,
    database,
    metrics,
    contract,
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
