import type { Handler } from '../../handler';

export const retrySupportTicketDelivery: Handler<'retrySupportTicketDelivery'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.support.retryDelivery(principal, params.id),
});
