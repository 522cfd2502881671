import type { Handler } from '../../handler';

export const createSupportRequestSlack: Handler<'createSupportRequestSlack'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.support.open(principal, 'slack', body),
});
