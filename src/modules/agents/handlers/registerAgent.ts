import type { Handler } from '../../handler';

export const registerAgent: Handler<'registerAgent'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.agents.register(principal, body),
});
