import type { MigrationInterface } from 'typeorm';
import { Identity1732400000000 } from './1732400000000-identity';
import { LoginLinks1732500000000 } from './1732500000000-login-links';
import { Agents1732600000000 } from './1732600000000-agents';
import { Audit1732700000000 } from './1732700000000-audit';
import { AuditSubjectIndexes1732800000000 } from './1732800000000-audit-subject-indexes';
import { AgentKeyProof1732900000000 } from './1732900000000-agent-key-proof';
import { RefreshRotation1732950000000 } from './1732950000000-refresh-rotation';
import { ApiKeyCreator1732960000000 } from './1732960000000-api-key-creator';
import { BootstrapReplay1732970000000 } from './1732970000000-bootstrap-replay';
import { Policies1733000000000 } from './1733000000000-policies';
import { Vendors1733010000000 } from './1733010000000-vendors';
import { Approvals1733020000000 } from './1733020000000-approvals';
import { Billing1733030000000 } from './1733030000000-billing';
import { AuditPending1733040000000 } from './1733040000000-audit-pending';
import { ProjectsWorkflows1733100000000 } from './1733100000000-projects-workflows';
import { DiscoveredSecrets1733110000000 } from './1733110000000-discovered-secrets';
import { Jobs1733120000000 } from './1733120000000-jobs';
import { Gitops1733130000000 } from './1733130000000-gitops';
import { AccessRequests1733140000000 } from './1733140000000-access-requests';
import { OidcLoginAttempts1733200000000 } from './1733200000000-oidc-login-attempts';
import { ApiKeyDevices1733210000000 } from './1733210000000-api-key-devices';
import { EntryPoints1733210000001 } from './1733210000001-entry-points';
import { GovernanceEpochs1733220000000 } from './1733220000000-governance-epochs';
import { BillingStripe1733300000000 } from './1733300000000-billing-stripe';
import { LedgerMarketplaceRegistry1733310000000 } from './1733310000000-ledger-marketplace-registry';
import { SupportTickets1733320000000 } from './1733320000000-support-tickets';
import { ImageScans1733400000000 } from './1733400000000-image-scans';
import { UserCreator1733410000000 } from './1733410000000-user-creator';
import { LighterAuditPending1733420000000 } from './1733420000000-lighter-audit-pending';
import { AuditChainedInDatabase1733430000000 } from './1733430000000-audit-chained-in-database';

/**
 * Every migration Warden knows, oldest first. Start-up applies the pending ones and
 * `/readyz` reports any that are not applied. Append new migrations at the end.
 */
export const migrations: Array<new () => MigrationInterface> = [
  Identity1732400000000,
  LoginLinks1732500000000,
  Agents1732600000000,
  Audit1732700000000,
  AuditSubjectIndexes1732800000000,
  AgentKeyProof1732900000000,
  RefreshRotation1732950000000,
  ApiKeyCreator1732960000000,
  BootstrapReplay1732970000000,
  Billing1733030000000,
  Approvals1733020000000,
  Policies1733000000000,
  Vendors1733010000000,
  AuditPending1733040000000,
  ProjectsWorkflows1733100000000,
  DiscoveredSecrets1733110000000,
  OidcLoginAttempts1733200000000,
  Jobs1733120000000,
  LedgerMarketplaceRegistry1733310000000,
  ApiKeyDevices1733210000000,
  EntryPoints1733210000001,
  GovernanceEpochs1733220000000,
  Gitops1733130000000,
  AccessRequests1733140000000,
  SupportTickets1733320000000,
  ImageScans1733400000000,
  BillingStripe1733300000000,
  UserCreator1733410000000,
  LighterAuditPending1733420000000,
  AuditChainedInDatabase1733430000000,
];
