import { disconnection } from '../../../binding/disconnection';
import type { Handler } from '../../handler';

export const claimAgentJob: Handler<'claimAgentJob'> = async ({ services, principal, params, query, req }) => {
  const job = await services.jobs.claim(principal, params.id, { seconds: query.wait ?? 0, signal: disconnection(req) });
  return job ? { status: 200, body: job } : { status: 204, body: undefined };
};
