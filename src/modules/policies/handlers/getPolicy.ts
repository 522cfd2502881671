import type { Handler } from '../../handler';

export const getPolicy: Handler<'getPolicy'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.policies.get(principal, params.id),
});
