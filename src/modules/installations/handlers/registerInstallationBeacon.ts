import type { Handler } from '../../handler';

export const registerInstallationBeacon: Handler<'registerInstallationBeacon'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.installations.registerBeacon(principal, params.id, body),
});
