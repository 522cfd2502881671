import type { Handler } from '../../handler';

export const listWorkspaceMembers: Handler<'listWorkspaceMembers'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.workspaces.members(principal, params.org_id, params.id, { ...query, limit: query.limit ?? 50 }),
});
