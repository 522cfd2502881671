import type { Handler } from '../../handler';

export const getTrustProfile: Handler<'getTrustProfile'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.trust.profile(principal, params.did),
});
