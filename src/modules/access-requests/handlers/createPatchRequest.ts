import type { Handler } from '../../handler';

export const createPatchRequest: Handler<'createPatchRequest'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.accessRequests.createPatch(principal, body),
});
