import type { Handler } from '../../handler';

export const putAgentListing: Handler<'putAgentListing'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.registry.put(principal, params.id, body),
});
