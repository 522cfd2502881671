import type { Handler } from '../../handler';

export const assignUserRole: Handler<'assignUserRole'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.rbac.assign(principal, body),
});
