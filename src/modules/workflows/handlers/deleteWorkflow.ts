import type { Handler } from '../../handler';

export const deleteWorkflow: Handler<'deleteWorkflow'> = async ({ services, principal, params }) => {
  await services.workflows.remove(principal, params.id);
  return { status: 204, body: undefined };
};
