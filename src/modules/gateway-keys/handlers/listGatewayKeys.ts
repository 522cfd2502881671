import type { Handler } from '../../handler';

export const listGatewayKeys: Handler<'listGatewayKeys'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.gatewayKeys.list(principal, { ...query, limit: query.limit ?? 50 }),
});
