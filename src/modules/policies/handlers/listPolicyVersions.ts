import type { Handler } from '../../handler';

export const listPolicyVersions: Handler<'listPolicyVersions'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.policies.versions(principal, params.id, { ...query, limit: query.limit ?? 50 }),
});
