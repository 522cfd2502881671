import type { Handler } from '../../handler';

export const getCurrentGatewayKey: Handler<'getCurrentGatewayKey'> = async ({ services, principal }) => ({
  status: 200,
  body: await services.gatewayKeys.current(principal),
});
