import type { Handler } from '../../handler';

export const verifyTrust: Handler<'verifyTrust'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.trust.verify(principal, body),
});
