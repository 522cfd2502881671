import type { Handler } from '../../handler';

export const createWorkspace: Handler<'createWorkspace'> = async ({ services, principal, params, body }) => ({
  status: 201,
  body: await services.workspaces.create(principal, params.org_id, body),
});
