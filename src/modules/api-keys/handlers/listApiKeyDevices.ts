import type { Handler } from '../../handler';

export const listApiKeyDevices: Handler<'listApiKeyDevices'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.apiKeys.listDevices(principal, params.id),
});
