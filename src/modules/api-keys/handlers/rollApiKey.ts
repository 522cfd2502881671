import type { Handler } from '../../handler';

export const rollApiKey: Handler<'rollApiKey'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.apiKeys.roll(principal, params.id, body?.grace_period_seconds ?? 0),
});
