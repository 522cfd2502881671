import type { Handler } from '../../handler';

export const approveAccessRequest: Handler<'approveAccessRequest'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.accessRequests.approve(principal, params.id, body),
});
