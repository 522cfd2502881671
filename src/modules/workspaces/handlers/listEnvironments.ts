import type { Handler } from '../../handler';

export const listEnvironments: Handler<'listEnvironments'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.environments.list(principal, params.workspace_id, { ...query, limit: query.limit ?? 50 }),
});
