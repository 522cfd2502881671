import type { Handler } from '../../handler';

export const updateBillingSettings: Handler<'updateBillingSettings'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.billingSettings.update(principal, body),
});
