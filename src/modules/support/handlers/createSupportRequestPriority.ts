import type { Handler } from '../../handler';

export const createSupportRequestPriority: Handler<'createSupportRequestPriority'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.support.open(principal, 'priority', body),
});
