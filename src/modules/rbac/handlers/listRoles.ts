import type { Handler } from '../../handler';

export const listRoles: Handler<'listRoles'> = async ({ services, principal }) => ({
  status: 200,
  body: { roles: await services.rbac.listRoles(principal) },
});
