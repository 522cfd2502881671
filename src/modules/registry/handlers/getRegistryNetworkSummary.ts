import type { Handler } from '../../handler';

export const getRegistryNetworkSummary: Handler<'getRegistryNetworkSummary'> = async ({ services }) => ({
  status: 200,
  body: await services.registry.summary(),
});
