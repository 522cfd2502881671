import type { Handler } from '../../handler';

export const listArgocdEndpoints: Handler<'listArgocdEndpoints'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.gitops.listEndpoints(principal, { ...query, limit: query.limit ?? 50 }),
});
