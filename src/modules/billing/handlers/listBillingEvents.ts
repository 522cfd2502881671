import type { Handler } from '../../handler';

export const listBillingEvents: Handler<'listBillingEvents'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.billing.listEvents(principal, { ...query, limit: query.limit ?? 50 }),
});
