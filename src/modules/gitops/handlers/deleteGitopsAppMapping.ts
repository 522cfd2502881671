import type { Handler } from '../../handler';

export const deleteGitopsAppMapping: Handler<'deleteGitopsAppMapping'> = async ({ services, principal, params }) => {
  await services.gitops.removeMapping(principal, params.id);
  return { status: 204, body: undefined };
};
