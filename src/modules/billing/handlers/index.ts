import { createStripeCustomer } from './createStripeCustomer';
import { createStripeInvoice } from './createStripeInvoice';
import { getBillingSettings } from './getBillingSettings';
import { getBillingSummary } from './getBillingSummary';
import { listBillingEvents } from './listBillingEvents';
import { listStripeInvoices } from './listStripeInvoices';
import { receiveStripeWebhook } from './receiveStripeWebhook';
import { updateBillingSettings } from './updateBillingSettings';

export const billingHandlers = {
  listBillingEvents,
  getBillingSummary,
  getBillingSettings,
  updateBillingSettings,
  createStripeCustomer,
  createStripeInvoice,
  listStripeInvoices,
  receiveStripeWebhook,
};
