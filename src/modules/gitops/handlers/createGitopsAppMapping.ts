import type { Handler } from '../../handler';

export const createGitopsAppMapping: Handler<'createGitopsAppMapping'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.gitops.createMapping(principal, body),
});
