import type { Handler } from '../../handler';

export const listRegistryNetworkAgents: Handler<'listRegistryNetworkAgents'> = async ({ services, query }) => ({
  status: 200,
  body: await services.registry.networkAgents({
    ...query,
    verified_only: query.verified_only ?? false,
    limit: query.limit ?? 20,
    offset: query.offset ?? 0,
  }),
});
