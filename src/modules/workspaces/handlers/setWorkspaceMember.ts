import type { Handler } from '../../handler';

export const setWorkspaceMember: Handler<'setWorkspaceMember'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.workspaces.setMember(principal, params.org_id, params.id, params.user_id, body.role),
});
