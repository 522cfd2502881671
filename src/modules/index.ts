import type { HandlerMap } from './handler';
import { systemHandlers } from './system/handlers';
import { authHandlers } from './auth/handlers';
import { adminHandlers } from './admin/handlers';
import { orgsHandlers } from './orgs/handlers';
import { usersHandlers } from './users/handlers';
import { workspacesHandlers } from './workspaces/handlers';
import { apiKeysHandlers } from './api-keys/handlers';
import { rbacHandlers } from './rbac/handlers';
import { agentsHandlers } from './agents/handlers';
import { installationsHandlers } from './installations/handlers';
import { trustHandlers } from './trust/handlers';
import { auditHandlers } from './audit/handlers';

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
} satisfies HandlerMap;
