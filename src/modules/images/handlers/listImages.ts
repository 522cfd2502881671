import type { Handler } from '../../handler';

export const listImages: Handler<'listImages'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.images.list(principal, { ...query, limit: query.limit ?? 50 }),
});
