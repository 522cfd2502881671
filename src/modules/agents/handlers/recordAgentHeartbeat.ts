import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const recordAgentHeartbeat: Handler<'recordAgentHeartbeat'> = async ({ services, principal, params, req }) => {
  await services.agents.heartbeat(principal, params.id, requestFactsOf(req));
  return { status: 204, body: undefined };
};
