import type { Handler } from '../../handler';

export const unbindApiKeyDevice: Handler<'unbindApiKeyDevice'> = async ({ services, principal, params }) => {
  await services.apiKeys.unbindDevice(principal, params.id, params.device_id);
  return { status: 204, body: undefined };
};
