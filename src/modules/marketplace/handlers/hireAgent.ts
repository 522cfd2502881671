import type { Handler } from '../../handler';

export const hireAgent: Handler<'hireAgent'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.marketplace.hire(principal, body),
});
