import type { Handler } from '../../handler';

export const listVendors: Handler<'listVendors'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.vendors.list(principal, { ...query, limit: query.limit ?? 50 }),
});
