import type { Handler } from '../../handler';

export const getPolicyVersion: Handler<'getPolicyVersion'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.policies.version(principal, params.id, params.version),
});
