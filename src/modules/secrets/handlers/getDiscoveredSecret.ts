import type { Handler } from '../../handler';

export const getDiscoveredSecret: Handler<'getDiscoveredSecret'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.secrets.get(principal, params.id),
});
