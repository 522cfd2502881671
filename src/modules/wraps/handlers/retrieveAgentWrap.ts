import type { Handler } from '../../handler';

export const retrieveAgentWrap: Handler<'retrieveAgentWrap'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.wraps.retrieveForAgent(principal, params.id, params.wrap_id),
});
