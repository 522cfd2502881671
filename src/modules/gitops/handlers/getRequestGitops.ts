import type { Handler } from '../../handler';

export const getRequestGitops: Handler<'getRequestGitops'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.gitops.requestObservations(principal, params.id, query.user_id),
});
