import type { Handler } from '../../handler';

export const getApprovalSettings: Handler<'getApprovalSettings'> = async ({ services, principal }) => ({
  status: 200,
  body: await services.approvals.getSettings(principal),
});
