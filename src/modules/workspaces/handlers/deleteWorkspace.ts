import type { Handler } from '../../handler';

export const deleteWorkspace: Handler<'deleteWorkspace'> = async ({ services, principal, params }) => {
  await services.workspaces.delete(principal, params.org_id, params.id);
  return { status: 204, body: undefined };
};
