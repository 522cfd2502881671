import type { Handler } from '../../handler';

export const createStripeCustomer: Handler<'createStripeCustomer'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.stripeBilling.createCustomer(principal, body),
});
