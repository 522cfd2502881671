import type { Handler } from '../../handler';

export const createProjectEnvironment: Handler<'createProjectEnvironment'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.environments.create(principal, body.project_id, body.name, 'project'),
});
