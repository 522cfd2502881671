import type { Handler } from '../../handler';

export const deletePolicy: Handler<'deletePolicy'> = async ({ services, principal, params, query }) => {
  await services.policies.delete(principal, params.id, query.force ?? false);
  return { status: 204, body: undefined };
};
