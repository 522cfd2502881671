import type { Handler } from '../../handler';

export const getStateSnapshot: Handler<'getStateSnapshot'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.state.snapshot(principal, query.org_id),
});
