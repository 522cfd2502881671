import type { Handler } from '../../handler';

export const setProjectStatus: Handler<'setProjectStatus'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.workspaces.setStatus(principal, params.id, body.status, 'project'),
});
