import type { Handler } from '../../handler';

export const revokeInstallation: Handler<'revokeInstallation'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.installations.revoke(principal, params.id, body),
});
