import type { Handler } from '../../handler';

export const createReadRequest: Handler<'createReadRequest'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.accessRequests.createRead(principal, body),
});
