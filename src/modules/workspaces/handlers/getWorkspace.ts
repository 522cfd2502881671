import type { Handler } from '../../handler';

export const getWorkspace: Handler<'getWorkspace'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.workspaces.get(principal, params.org_id, params.id),
});
