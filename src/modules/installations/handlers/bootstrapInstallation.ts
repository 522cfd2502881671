import type { Handler } from '../../handler';

export const bootstrapInstallation: Handler<'bootstrapInstallation'> = async ({ services, body }) => ({
  status: 200,
  body: await services.installations.bootstrap(body),
});
