import type { Handler } from '../../handler';

export const createDecision: Handler<'createDecision'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.decisions.decideForAgent(principal, body),
});
