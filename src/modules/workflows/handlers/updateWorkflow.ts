import type { Handler } from '../../handler';

export const updateWorkflow: Handler<'updateWorkflow'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.workflows.update(principal, params.id, body),
});
