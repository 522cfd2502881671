import type { Handler } from '../../handler';

export const listOrgEnvironments: Handler<'listOrgEnvironments'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.environments.listInOrg(principal, { ...query, limit: query.limit ?? 50 }),
});
