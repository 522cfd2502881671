import type { Handler } from '../../handler';

export const refreshInstallationToken: Handler<'refreshInstallationToken'> = async ({ services, params, body }) => ({
  status: 200,
  body: await services.installations.refresh(params.id, body.refresh_token),
});
