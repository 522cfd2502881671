import type { Handler } from '../../handler';

export const listRolesOfUser: Handler<'listRolesOfUser'> = async ({ services, principal, params }) => ({
  status: 200,
  body: { roles: await services.rbac.rolesOfUser(principal, params.user_id) },
});
