import type { Handler } from '../../handler';

export const listSupportTickets: Handler<'listSupportTickets'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.support.list(principal, { ...query, limit: query.limit ?? 50 }),
});
