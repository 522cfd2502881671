import type { Handler } from '../../handler';

export const completeAgentJob: Handler<'completeAgentJob'> = async ({ services, principal, params, body }) => {
  await services.jobs.complete(principal, params.id, params.job_id, body);
  return { status: 204, body: undefined };
};
