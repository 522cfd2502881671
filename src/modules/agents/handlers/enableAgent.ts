import type { Handler } from '../../handler';

export const enableAgent: Handler<'enableAgent'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.agents.enable(principal, params.id),
});
