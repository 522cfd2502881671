import type { Handler } from '../../handler';

export const getBillingSummary: Handler<'getBillingSummary'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.billing.summary(principal, query),
});
