import type { Handler } from '../../handler';

export const createRole: Handler<'createRole'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.rbac.createRole(principal, body),
});
