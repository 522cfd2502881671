import type { Handler } from '../../handler';

export const getRole: Handler<'getRole'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.rbac.getRole(principal, params.id),
});
