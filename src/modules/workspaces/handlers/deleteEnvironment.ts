import type { Handler } from '../../handler';

export const deleteEnvironment: Handler<'deleteEnvironment'> = async ({ services, principal, params }) => {
  await services.environments.delete(principal, params.workspace_id, params.environment_id);
  return { status: 204, body: undefined };
};
