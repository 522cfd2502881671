import type { Handler } from '../../handler';

export const createGatewayKey: Handler<'createGatewayKey'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.gatewayKeys.create(principal, body),
});
