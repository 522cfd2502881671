import type { Handler } from '../../handler';

export const denyApproval: Handler<'denyApproval'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.approvals.deny(principal, params.id, body?.reason),
});
