import type { Handler } from '../../handler';

export const getWorkspacePolicy: Handler<'getWorkspacePolicy'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.policies.workspacePolicy(principal, params.id),
});
