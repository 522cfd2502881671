import type { Handler } from '../../handler';

export const createEnvironment: Handler<'createEnvironment'> = async ({ services, principal, params, body }) => ({
  status: 201,
  body: await services.environments.create(principal, params.workspace_id, body.name),
});
