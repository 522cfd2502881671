import type { Handler } from '../../handler';

export const getProject: Handler<'getProject'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.workspaces.get(principal, undefined, params.id, 'project'),
});
