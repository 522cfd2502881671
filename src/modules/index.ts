import type { HandlerMap } from './handler';
import { systemHandlers } from './system';
import { authHandlers } from './auth';
import { adminHandlers } from './admin';
import { orgsHandlers } from './orgs';
import { usersHandlers } from './users';
import { workspacesHandlers } from './workspaces';
import { apiKeysHandlers } from './api-keys';
import { rbacHandlers } from './rbac';
import { agentsHandlers } from './agents';
import { installationsHandlers } from './installations';
import { trustHandlers } from './trust';
import { auditHandlers } from './audit';

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
