import type { Handler } from '../../handler';

export const getAccessRequest: Handler<'getAccessRequest'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.accessRequests.visible(principal, params.id),
});
