import type { Handler } from '../../handler';

export const listStripeInvoices: Handler<'listStripeInvoices'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.stripeBilling.listInvoices(principal, query),
});
