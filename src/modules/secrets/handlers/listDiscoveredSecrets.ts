import type { Handler } from '../../handler';

export const listDiscoveredSecrets: Handler<'listDiscoveredSecrets'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.secrets.list(principal, { ...query, limit: query.limit ?? 50 }),
});
