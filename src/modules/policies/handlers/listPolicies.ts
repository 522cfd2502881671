import type { Handler } from '../../handler';

export const listPolicies: Handler<'listPolicies'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.policies.list(principal, { ...query, limit: query.limit ?? 50 }),
});
