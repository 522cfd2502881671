import type { Handler } from '../../handler';

export const recoverInstallation: Handler<'recoverInstallation'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.installations.recover(principal, body),
});
