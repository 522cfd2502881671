import type { Handler } from '../../handler';

export const deleteAgentListing: Handler<'deleteAgentListing'> = async ({ services, principal, params }) => {
  await services.registry.delete(principal, params.id);
  return { status: 204, body: undefined };
};
