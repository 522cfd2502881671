import type { Handler } from '../../handler';

export const setAgentPolicies: Handler<'setAgentPolicies'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.agents.setPolicies(principal, params.id, body.policy_ids),
});
