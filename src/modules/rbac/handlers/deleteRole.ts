import type { Handler } from '../../handler';

export const deleteRole: Handler<'deleteRole'> = async ({ services, principal, params }) => {
  await services.rbac.deleteRole(principal, params.id);
  return { status: 204, body: undefined };
};
