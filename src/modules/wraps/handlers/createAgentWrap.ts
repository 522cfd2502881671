import type { Handler } from '../../handler';

export const createAgentWrap: Handler<'createAgentWrap'> = async ({ services, principal, params, body }) => ({
  status: 201,
  body: await services.wraps.createFromAgent(principal, params.id, body),
});
