import type { Handler } from '../../handler';

export const getJob: Handler<'getJob'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.jobs.get(principal, params.id),
});
