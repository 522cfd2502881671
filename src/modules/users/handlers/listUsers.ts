import type { Handler } from '../../handler';

export const listUsers: Handler<'listUsers'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.users.list(principal, { ...query, limit: query.limit ?? 50 }),
});
