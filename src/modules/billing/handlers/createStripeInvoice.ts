import type { Handler } from '../../handler';

export const createStripeInvoice: Handler<'createStripeInvoice'> = async ({ services, principal, body }) => {
  const { created, invoice } = await services.stripeBilling.createInvoice(principal, body);
  return { status: created ? 201 : 200, body: invoice };
};
