import type { Handler } from '../../handler';

export const createTrustHeaders: Handler<'createTrustHeaders'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.trust.headers(principal, body),
});
