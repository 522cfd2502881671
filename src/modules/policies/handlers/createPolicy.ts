import type { Handler } from '../../handler';

export const createPolicy: Handler<'createPolicy'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.policies.create(principal, body),
});
