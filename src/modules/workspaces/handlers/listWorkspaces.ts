import type { Handler } from '../../handler';

export const listWorkspaces: Handler<'listWorkspaces'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.workspaces.list(principal, params.org_id, { ...query, limit: query.limit ?? 50 }),
});
