import type { Handler } from '../../handler';

export const getBillingSettings: Handler<'getBillingSettings'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.billingSettings.get(principal, query.org_id),
});
