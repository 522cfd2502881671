import type { Handler } from '../../handler';

export const getCurrentPrincipal: Handler<'getCurrentPrincipal'> = async ({ services, principal }) => ({
  status: 200,
  body: await services.auth.describe(principal),
});
