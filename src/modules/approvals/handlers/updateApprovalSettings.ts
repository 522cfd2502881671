import type { Handler } from '../../handler';

export const updateApprovalSettings: Handler<'updateApprovalSettings'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.approvals.updateSettings(principal, body),
});
