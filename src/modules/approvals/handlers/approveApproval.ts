import type { Handler } from '../../handler';

export const approveApproval: Handler<'approveApproval'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.approvals.approve(principal, params.id, body?.reason),
});
