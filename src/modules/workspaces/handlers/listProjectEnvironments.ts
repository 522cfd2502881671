import type { Handler } from '../../handler';

export const listProjectEnvironments: Handler<'listProjectEnvironments'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.environments.list(principal, params.id, { ...query, limit: query.limit ?? 50 }, 'project'),
});
