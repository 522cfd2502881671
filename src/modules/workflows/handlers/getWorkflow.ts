import type { Handler } from '../../handler';

export const getWorkflow: Handler<'getWorkflow'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.workflows.get(principal, params.id, query.version),
});
