import type { Handler } from '../../handler';

export const listApprovals: Handler<'listApprovals'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.approvals.list(principal, { ...query, limit: query.limit ?? 50 }),
});
