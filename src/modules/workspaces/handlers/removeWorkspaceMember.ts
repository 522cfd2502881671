import type { Handler } from '../../handler';

export const removeWorkspaceMember: Handler<'removeWorkspaceMember'> = async ({ services, principal, params }) => {
  await services.workspaces.removeMember(principal, params.org_id, params.id, params.user_id);
  return { status: 204, body: undefined };
};
