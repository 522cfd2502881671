import { accessRequestsHandlers } from './access-requests';
import { adminHandlers } from './admin';
import { agentsHandlers } from './agents';
import { apiKeysHandlers } from './api-keys';
import { approvalsHandlers } from './approvals';
import { auditHandlers } from './audit';
import { authHandlers } from './auth';
import { billingHandlers } from './billing';
import { decisionsHandlers } from './decisions';
import { gatewayHandlers } from './gateway';
import { gatewayKeysHandlers } from './gateway-keys';
import { gitopsHandlers } from './gitops';
import type { HandlerMap } from './handler';
import { imagesHandlers } from './images';
import { installationsHandlers } from './installations';
import { jobsHandlers } from './jobs';
import { ledgerHandlers } from './ledger';
import { marketplaceHandlers } from './marketplace';
import { oidcHandlers } from './oidc';
import { orgsHandlers } from './orgs';
import { policiesHandlers } from './policies';
import { rbacHandlers } from './rbac';
import { registryHandlers } from './registry';
import { secretsHandlers } from './secrets';
import { stateHandlers } from './state';
import { supportHandlers } from './support';
import { systemHandlers } from './system';
import { trustHandlers } from './trust';
import { usersHandlers } from './users';
import { vendorsHandlers } from './vendors';
import { workflowsHandlers } from './workflows';
import { workspacesHandlers } from './workspaces';
import { wrapsHandlers } from './wraps';

/** Every module's handlers, keyed by operationId. */
export const handlers = {
  ...systemHandlers,
  ...authHandlers,
  ...adminHandlers,
  ...orgsHandlers,
  ...usersHandlers,
  ...workspacesHandlers,
  ...apiKeysHandlers,
  ...rbacHandlers,
  ...agentsHandlers,
  ...installationsHandlers,
  ...trustHandlers,
  ...auditHandlers,
  ...billingHandlers,
  ...approvalsHandlers,
  ...policiesHandlers,
  ...vendorsHandlers,
  ...gatewayKeysHandlers,
  ...decisionsHandlers,
  ...stateHandlers,
  ...gatewayHandlers,
  ...jobsHandlers,
  ...workflowsHandlers,
  ...secretsHandlers,
  ...oidcHandlers,
  ...registryHandlers,
  ...ledgerHandlers,
  ...marketplaceHandlers,
  ...gitopsHandlers,
  ...accessRequestsHandlers,
  ...wrapsHandlers,
  ...supportHandlers,
  ...imagesHandlers,
} satisfies HandlerMap;
