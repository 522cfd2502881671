import type { Handler } from '../../handler';

export const updatePolicy: Handler<'updatePolicy'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.policies.update(principal, params.id, body),
});
