import type { Handler } from '../../handler';

export const revokeGatewayKey: Handler<'revokeGatewayKey'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.gatewayKeys.revoke(principal, params.id),
});
