import type { Handler } from '../../handler';

export const getVendor: Handler<'getVendor'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.vendors.get(principal, params.id),
});
