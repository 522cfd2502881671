import type { Handler } from '../../handler';

export const createSupportRequestEmail: Handler<'createSupportRequestEmail'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.support.open(principal, 'email', body),
});
