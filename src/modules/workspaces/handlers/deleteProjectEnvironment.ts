import type { Handler } from '../../handler';

export const deleteProjectEnvironment: Handler<'deleteProjectEnvironment'> = async ({ services, principal, params }) => {
  await services.environments.delete(principal, params.id);
  return { status: 204, body: undefined };
};
