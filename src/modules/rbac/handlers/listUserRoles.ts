import type { Handler } from '../../handler';

export const listUserRoles: Handler<'listUserRoles'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.rbac.listAssignments(principal, { ...query, limit: query.limit ?? 50 }),
});
