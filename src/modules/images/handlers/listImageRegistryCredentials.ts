import type { Handler } from '../../handler';

export const listImageRegistryCredentials: Handler<'listImageRegistryCredentials'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.images.listCredentials(principal, { ...query, limit: query.limit ?? 50 }),
});
