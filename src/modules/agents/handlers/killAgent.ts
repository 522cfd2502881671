import type { Handler } from '../../handler';

export const killAgent: Handler<'killAgent'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.agents.kill(principal, params.agent_id, body),
});
