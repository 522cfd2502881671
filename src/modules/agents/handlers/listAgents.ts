import type { Handler } from '../../handler';

export const listAgents: Handler<'listAgents'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.agents.list(principal, { ...query, limit: query.limit ?? 50 }),
});
