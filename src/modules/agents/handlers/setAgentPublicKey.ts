import type { Handler } from '../../handler';

export const setAgentPublicKey: Handler<'setAgentPublicKey'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.agents.setWireKey(principal, params.id, body.public_key),
});
