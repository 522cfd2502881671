import { createSupportRequestCsm } from './createSupportRequestCsm';
import { createSupportRequestEmail } from './createSupportRequestEmail';
import { createSupportRequestPriority } from './createSupportRequestPriority';
import { createSupportRequestSlack } from './createSupportRequestSlack';
import { listSupportTickets } from './listSupportTickets';

export const supportHandlers = {
  createSupportRequestEmail,
  createSupportRequestPriority,
  createSupportRequestSlack,
  createSupportRequestCsm,
  listSupportTickets,
};
