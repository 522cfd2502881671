import type { Handler } from '../../handler';

export const updateApiKey: Handler<'updateApiKey'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.apiKeys.update(principal, params.id, body),
});
