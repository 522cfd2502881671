import type { Handler } from '../../handler';

export const updateVendor: Handler<'updateVendor'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.vendors.update(principal, params.id, body),
});
