export { ApprovalNotifier, signatureHeader } from './approval-notifier';
export {
  type Approval,
  type ApprovalOptions,
  type ApprovalRequest,
  ApprovalService,
  type RedeemResult,
  type Redemption,
} from './approval-service';
export { approvalsHandlers } from './handlers';
