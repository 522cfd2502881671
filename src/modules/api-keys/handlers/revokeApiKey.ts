import type { Handler } from '../../handler';

export const revokeApiKey: Handler<'revokeApiKey'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.apiKeys.revoke(principal, params.id),
});
