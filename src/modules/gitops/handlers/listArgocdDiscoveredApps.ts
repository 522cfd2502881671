import type { Handler } from '../../handler';

export const listArgocdDiscoveredApps: Handler<'listArgocdDiscoveredApps'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.gitops.discoveredApps(principal, params.id),
});
