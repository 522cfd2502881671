import type { Handler } from '../../handler';

export const createApiKey: Handler<'createApiKey'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.apiKeys.create(principal, body),
});
