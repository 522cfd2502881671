import type { Handler } from '../../handler';

export const proveAgentKey: Handler<'proveAgentKey'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.agents.proveKey(principal, params.id, body),
});
