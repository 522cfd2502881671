import { getBillingSummary } from './getBillingSummary';
import { listBillingEvents } from './listBillingEvents';

export const billingHandlers = {
  listBillingEvents,
  getBillingSummary,
};
