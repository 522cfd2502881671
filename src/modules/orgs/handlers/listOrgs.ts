import type { Handler } from '../../handler';

export const listOrgs: Handler<'listOrgs'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.orgs.list(principal, query.limit ?? 50, query.cursor),
});
