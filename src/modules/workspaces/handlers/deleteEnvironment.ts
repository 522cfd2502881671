import type { Handler } from '../../handler';

export const deleteEnvironment: Handler<'deleteEnvironment'> = async ({ services, principal, params }) => {
  await services.environments.delete(principal, params.environment_id, params.workspace_id);
  return { status: 204, body: undefined };
};
