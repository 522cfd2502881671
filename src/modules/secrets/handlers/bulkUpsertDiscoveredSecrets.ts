import type { Handler } from '../../handler';

export const bulkUpsertDiscoveredSecrets: Handler<'bulkUpsertDiscoveredSecrets'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.secrets.report(principal, params.id, body),
});
