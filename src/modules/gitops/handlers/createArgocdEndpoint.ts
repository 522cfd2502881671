import type { Handler } from '../../handler';

export const createArgocdEndpoint: Handler<'createArgocdEndpoint'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.gitops.createEndpoint(principal, body),
});
