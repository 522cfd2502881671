import type { Logger } from 'pino';
import { LoginTokens } from '../auth/login-tokens';
import { RateLimiter } from '../auth/rate-limiter';
import { SigningKey } from '../auth/signing-key';
import type { Config } from '../config/config';
import { EnvelopeCipher } from '../crypto/envelope';
import { keyManagerFor } from '../crypto/key-manager';
import type { Database } from '../db/database';
import { Db } from '../db/db';
import { InstanceSecrets } from '../db/instance-secrets';
import { Notifications } from '../db/notifications';
import { Mailer } from '../mail/mailer';
import type { Metrics } from '../metrics/metrics';
import { OutboundHttp, outboundPolicy } from '../outbound/outbound-http';
import { AccessRequestService } from './access-requests';
import { AdminService } from './admin';
import { AgentService } from './agents';
import { ApiKeyService } from './api-keys';
import { ApprovalNotifier, ApprovalService } from './approvals';
import { AuditService, ComplianceService, SiemExportService } from './audit';
import { AuthService, LoginLinkService } from './auth';
import { BillingService, BillingSettingsService, StripeBillingService } from './billing';
import { DecisionService } from './decisions';
import { GatewayService } from './gateway';
import { GatewayKeyService } from './gateway-keys';
import { GitopsService } from './gitops';
import { ImageService } from './images';
import { InstallationService } from './installations';
import { JobService } from './jobs';
import { LedgerService } from './ledger';
import { MarketplaceService } from './marketplace';
import { OidcService } from './oidc';
import { OrgService } from './orgs';
import { PolicyService } from './policies';
import { OwnerGuard, RbacService } from './rbac';
import { RegistryService } from './registry';
import { SecretService } from './secrets';
import { StateService } from './state';
import { SupportService } from './support';
import type { ContractDocuments } from './system';
import { SystemService } from './system';
import { TrustService } from './trust';
import { UserService } from './users';
import { VendorService } from './vendors';
import { WorkflowService } from './workflows';
import { EnvironmentService, WorkspaceService } from './workspaces';
import { WrapService } from './wraps';

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
  const db = new Db(database.dataSource, { namedStatements: database.namedStatements && config.dbPreparedStatements });
  // Instance secrets are read and created outside any request transaction, so a key is never
  // cached in memory while the row that holds it might still roll back.
  const secrets = new InstanceSecrets(database.dataSource);
  const loginTokens = new LoginTokens(secrets, config.jwtSecret, config.jwtTtlMinutes);
  const mailer = new Mailer(db, logger, config.smtpUrl, config.mailFrom);
  const signingKey = new SigningKey(secrets);
  const orgs = new OrgService(db, config.upgradeUrl);
  const audit = new AuditService(db, signingKey, orgs, logger);
  const owners = new OwnerGuard(db, orgs);
  const apiKeys = new ApiKeyService(db, orgs, owners);
  const users = new UserService(db, orgs, owners, apiKeys);
  const auth = new AuthService(
    db,
    loginTokens,
    orgs,
    users,
    apiKeys,
    new LoginLinkService(db, mailer, logger, {
      publicUrl: config.publicUrl,
      redirectAllowedOrigins: config.redirectAllowedOrigins,
      returnTokens: config.devReturnLinkTokens,
    }),
    secrets,
    audit,
    // Built below; signup reaches them only once everything is composed.
    (orgId, input) => billingSettings.seedSignup(orgId, input, ledger),
  );
  const workspaces: WorkspaceService = new WorkspaceService(db, orgs, users, () => ({ agents, installations }));
  const policies: PolicyService = new PolicyService(db, orgs, () => ({ agents, workspaces }));
  const agents = new AgentService(db, orgs, workspaces, audit, policies, (orgId) => billingSettings.defaultDailyBudgetUsd(orgId));
  const installations = new InstallationService(db, orgs, workspaces, agents, logger, audit);
  const discoveredSecrets = new SecretService(db, orgs, agents);
  // The one client for every call out of Warden (SIEM intakes, vendors, approval notifications).
  const outbound = new OutboundHttp(outboundPolicy(config.outbound));
  // Roles that workflows (and the pending requests they judged) name as approver roles are owner-governed.
  const rbac: RbacService = new RbacService(db, orgs, users, owners, () => ({ workflows, requests: accessRequests }));
  const workflows = new WorkflowService(db, orgs, rbac);
  // Secrets Warden reads back (vendor credentials): sealed under per-org data keys wrapped by the KEK.
  const keys = keyManagerFor({
    configured: config.encryptionKey,
    embedded: database.embedded,
    dataDir: config.dataDir,
    warn: (message) => logger.warn(message),
  });
  const cipher = new EnvelopeCipher(db, keys);
  const vendors = new VendorService(db, orgs, outbound, cipher);
  const gatewayKeys = new GatewayKeyService(db, orgs, agents, vendors);
  // Fee settings per org (billing_settings), the operator's configured ones where an org set none.
  const billingSettings = new BillingSettingsService(db, orgs, config.billing);
  const billing = new BillingService(db, orgs, billingSettings.fees);
  // One LISTEN connection for every long-poll. PGlite (one session, `namedStatements` false) cannot spare
  // a connection to LISTEN on: its waits poll.
  const notifications = new Notifications(database.namedStatements ? database.url : null, logger);
  const approvals = new ApprovalService(
    db,
    orgs,
    new ApprovalNotifier(rbac, mailer, outbound, secrets, logger, config.publicUrl),
    outbound,
    secrets,
    notifications,
    logger,
    { ...config.approvals, pollIntervalMs: database.namedStatements ? 5_000 : 250 },
  );
  const jobs: JobService = new JobService(
    db,
    orgs,
    agents,
    audit,
    notifications,
    logger,
    // Polling finds what nothing announces: every new job on PGlite, leases that ran out everywhere.
    { ...config.jobs, pollIntervalMs: database.namedStatements ? 2_000 : 250 },
    // An agent serves the clusters it has reported secrets of.
    () => ({ clusters: discoveredSecrets, lifecycle: accessRequests }),
  );
  const decisions = new DecisionService(db, policies, approvals, billing, audit, vendors, gatewayKeys);
  const registry = new RegistryService(db, orgs, agents);
  const ledger = new LedgerService(db, orgs, agents, registry, decisions, audit);
  // Argo CD tokens are sealed like vendor credentials; access requests (their own module) say who may read observations.
  const gitops = new GitopsService(db, orgs, outbound, cipher, { ...config.gitops, timeoutMs: config.outbound.timeoutMs }, () => ({
    requests: accessRequests,
  }));
  // Access requests and wraps call each other (a patch value is a wrap; a wrap's reader is checked against its request).
  const wraps: WrapService = new WrapService(db, agents, keys, audit, () => ({ requests: accessRequests, jobs }));
  const accessRequests: AccessRequestService = new AccessRequestService(db, orgs, () => ({
    workspaces,
    workflows,
    secrets: discoveredSecrets,
    jobs,
    gitops,
    wraps,
    users,
  }));
  return {
    config,
    database,
    metrics,
    contract,
    db,
    loginTokens,
    mailer,
    audit,
    siem: new SiemExportService(audit, outbound, config.siem),
    compliance: new ComplianceService(orgs, agents, installations, workspaces, audit),
    rateLimits: new RateLimiter(database.dataSource, config.rateLimits, config.apiKeyRateLimit, logger),
    system: new SystemService(database),
    auth,
    admin: new AdminService(db, mailer, secrets, new Set(config.platformAdminEmails), config.adminSessionTtlMinutes, audit, auth),
    orgs,
    users,
    workspaces,
    environments: new EnvironmentService(db, orgs, workspaces),
    apiKeys,
    rbac,
    agents,
    installations,
    trust: new TrustService(db, orgs, agents, installations, signingKey, audit),
    billing,
    billingSettings,
    stripeBilling: new StripeBillingService(db, orgs, billingSettings, audit, config.stripe, outbound),
    approvals,
    jobs,
    policies,
    cipher,
    vendors,
    gatewayKeys,
    decisions,
    workflows,
    accessRequests,
    wraps,
    gateway: new GatewayService({ decisions, vendors, outbound, limits: config.gateway }),
    gitops,
    state: new StateService(orgs, agents, policies, vendors, gatewayKeys, approvals, billing),
    secrets: discoveredSecrets,
    registry,
    ledger,
    marketplace: new MarketplaceService(db, orgs, registry, ledger),
    oidc: new OidcService(db, config.oidc, outbound, config.outbound.timeoutMs, auth, users, audit),
    support: new SupportService(db, orgs, workspaces, audit, mailer, outbound, config.support),
    // Registry credentials are sealed like vendor credentials; registry calls go through the outbound client.
    images: new ImageService(db, orgs, audit, outbound, cipher, { ...config.images, timeoutMs: config.outbound.timeoutMs }, logger),
  };
}
