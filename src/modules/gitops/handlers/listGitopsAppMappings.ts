import type { Handler } from '../../handler';

export const listGitopsAppMappings: Handler<'listGitopsAppMappings'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.gitops.listMappings(principal, { ...query, limit: query.limit ?? 50 }),
});
