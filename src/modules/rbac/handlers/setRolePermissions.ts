import type { Handler } from '../../handler';

export const setRolePermissions: Handler<'setRolePermissions'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.rbac.setRolePermissions(principal, params.id, body.permissions),
});
