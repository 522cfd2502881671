import type { Handler } from '../../handler';

export const listAccessRequests: Handler<'listAccessRequests'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.accessRequests.list(principal, { ...query, limit: query.limit ?? 50 }),
});
