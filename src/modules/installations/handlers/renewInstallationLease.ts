import type { Handler } from '../../handler';

export const renewInstallationLease: Handler<'renewInstallationLease'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.installations.lease(principal, params.id, body),
});
