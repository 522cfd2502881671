import type { Handler } from '../../handler';

export const removeUserRole: Handler<'removeUserRole'> = async ({ services, principal, params }) => {
  await services.rbac.removeAssignment(principal, params.id);
  return { status: 204, body: undefined };
};
