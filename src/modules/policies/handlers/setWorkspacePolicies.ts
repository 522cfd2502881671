import type { Handler } from '../../handler';

export const setWorkspacePolicies: Handler<'setWorkspacePolicies'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.policies.setWorkspacePolicies(principal, params.id, body.policy_ids),
});
