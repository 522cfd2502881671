import { createSupportRequestCsm } from './createSupportRequestCsm';
import { createSupportRequestEmail } from './createSupportRequestEmail';
import { createSupportRequestPriority } from './createSupportRequestPriority';
import { createSupportRequestSlack } from './createSupportRequestSlack';
import { listSupportTickets } from './listSupportTickets';
import { retrySupportTicketDelivery } from './retrySupportTicketDelivery';

export const supportHandlers = {
  createSupportRequestEmail,
  createSupportRequestPriority,
  createSupportRequestSlack,
  createSupportRequestCsm,
  listSupportTickets,
  retrySupportTicketDelivery,
};
