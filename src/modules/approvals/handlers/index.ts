import { approveApproval } from './approveApproval';
import { denyApproval } from './denyApproval';
import { getApproval } from './getApproval';
import { getApprovalSettings } from './getApprovalSettings';
import { listApprovals } from './listApprovals';
import { updateApprovalSettings } from './updateApprovalSettings';

export const approvalsHandlers = {
  listApprovals,
  getApproval,
  approveApproval,
  denyApproval,
  getApprovalSettings,
  updateApprovalSettings,
};
