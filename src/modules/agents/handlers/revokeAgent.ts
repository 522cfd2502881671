import type { Handler } from '../../handler';

export const revokeAgent: Handler<'revokeAgent'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.agents.revoke(principal, params.id),
});
