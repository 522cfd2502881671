import type { Handler } from '../../handler';

export const rejectAccessRequest: Handler<'rejectAccessRequest'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.accessRequests.reject(principal, params.id, body),
});
