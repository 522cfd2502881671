import type { Handler } from '../../handler';

export const createInstallToken: Handler<'createInstallToken'> = async ({ services, principal, params, body }) => ({
  status: 201,
  body: await services.installations.createInstallToken(principal, params.workspace_id, body),
});
