import type { Handler } from '../../handler';

export const updateWorkspace: Handler<'updateWorkspace'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.workspaces.update(principal, params.org_id, params.id, body),
});
