import type { RateLimiter } from './auth/rate-limiter';
import type { Config } from './config/config';
import type { Database } from './db/database';
import type { Db } from './db/db';
import type { Mailer } from './mail/mailer';
import type { Metrics } from './metrics/metrics';
import type { AgentService } from './modules/agents/agent-service';
import type { TrustService } from './modules/trust/trust-service';
import type { InstallationService } from './modules/installations/installation-service';
import type { AdminService } from './modules/admin/admin-service';
import type { AuditService } from './modules/audit/audit-service';
import type { ComplianceService } from './modules/audit/compliance-service';
import type { SiemExportService } from './modules/audit/siem-export-service';
import type { ApiKeyService } from './modules/api-keys/api-key-service';
import type { AuthService } from './modules/auth/auth-service';
import type { OrgService } from './modules/orgs/org-service';
import type { RbacService } from './modules/rbac/rbac-service';
import type { ContractDocuments } from './modules/system/contract-documents';
import type { SystemService } from './modules/system/system-service';
import type { UserService } from './modules/users/user-service';
import type { EnvironmentService } from './modules/workspaces/environment-service';
import type { WorkspaceService } from './modules/workspaces/workspace-service';

/** What every handler can reach through `context.services`; built once in createApp. */
export interface Services {
  config: Config;
  database: Database;
  metrics: Metrics;
  contract: ContractDocuments;
  db: Db;
  mailer: Mailer;
  audit: AuditService;
  siem: SiemExportService;
  compliance: ComplianceService;
  rateLimits: RateLimiter;
  system: SystemService;
  auth: AuthService;
  admin: AdminService;
  orgs: OrgService;
  users: UserService;
  workspaces: WorkspaceService;
  environments: EnvironmentService;
  apiKeys: ApiKeyService;
  rbac: RbacService;
  agents: AgentService;
  installations: InstallationService;
  trust: TrustService;
}
