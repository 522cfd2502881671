import type { Handler } from '../../handler';

export const bindApiKeyDevice: Handler<'bindApiKeyDevice'> = async ({ services, principal, params, body }) => {
  const { created, device } = await services.apiKeys.bindDevice(principal, params.id, body);
  return { status: created ? 201 : 200, body: device };
};
