import type { Handler } from '../../handler';

export const listWorkflows: Handler<'listWorkflows'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.workflows.list(principal, { ...query, limit: query.limit ?? 50 }),
});
