import type { Handler } from '../../handler';

export const createProject: Handler<'createProject'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.workspaces.create(principal, undefined, body, 'project'),
});
