import type { Handler } from '../../handler';

export const createWorkflow: Handler<'createWorkflow'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.workflows.create(principal, body),
});
