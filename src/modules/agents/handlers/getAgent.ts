import type { Handler } from '../../handler';

export const getAgent: Handler<'getAgent'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.agents.get(principal, params.id),
});
