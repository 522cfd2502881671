import type { Handler } from '../../handler';

export const deleteArgocdEndpoint: Handler<'deleteArgocdEndpoint'> = async ({ services, principal, params }) => {
  await services.gitops.removeEndpoint(principal, params.id);
  return { status: 204, body: undefined };
};
