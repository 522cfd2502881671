import type { Handler } from '../../handler';

export const startEmailVerification: Handler<'startEmailVerification'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.auth.startEmailVerification(principal, body?.redirect_url),
});
