import type { Handler } from '../../handler';

export const listJobs: Handler<'listJobs'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.jobs.list(principal, { ...query, limit: query.limit ?? 50 }),
});
