import type { Handler } from '../../handler';

export const createJob: Handler<'createJob'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.jobs.create(principal, body),
});
