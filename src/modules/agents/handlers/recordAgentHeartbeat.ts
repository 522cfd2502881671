import type { Handler } from '../../handler';

export const recordAgentHeartbeat: Handler<'recordAgentHeartbeat'> = async ({ services, principal, params }) => {
  await services.agents.heartbeat(principal, params.id);
  return { status: 204, body: undefined };
};
