import type { Handler } from '../../handler';

export const cancelAccessRequest: Handler<'cancelAccessRequest'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.accessRequests.cancel(principal, params.id, body),
});
