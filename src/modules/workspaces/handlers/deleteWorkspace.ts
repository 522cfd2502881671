import type { Handler } from '../../handler';

export const deleteWorkspace: Handler<'deleteWorkspace'> = async ({ services, principal, params, query }) => {
  await services.workspaces.delete(principal, params.org_id, params.id, query.force ?? false);
  return { status: 204, body: undefined };
};
