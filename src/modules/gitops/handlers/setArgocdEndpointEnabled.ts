import type { Handler } from '../../handler';

export const setArgocdEndpointEnabled: Handler<'setArgocdEndpointEnabled'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.gitops.setEndpointEnabled(principal, params.id, body.enabled),
});
