import type { Handler } from '../../handler';

export const verifyAgent: Handler<'verifyAgent'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.agents.verify(principal, params.id),
});
