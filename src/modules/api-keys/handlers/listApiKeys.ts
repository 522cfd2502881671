import type { Handler } from '../../handler';

export const listApiKeys: Handler<'listApiKeys'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.apiKeys.list(principal, { ...query, limit: query.limit ?? 50 }),
});
