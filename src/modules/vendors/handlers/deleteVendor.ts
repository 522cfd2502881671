import type { Handler } from '../../handler';

export const deleteVendor: Handler<'deleteVendor'> = async ({ services, principal, params }) => {
  await services.vendors.remove(principal, params.id);
  return { status: 204, body: undefined };
};
