import type { Handler } from '../../handler';

export const createAgent: Handler<'createAgent'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.agents.mint(principal, body),
});
