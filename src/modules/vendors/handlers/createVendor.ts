import type { Handler } from '../../handler';

export const createVendor: Handler<'createVendor'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.vendors.create(principal, body),
});
