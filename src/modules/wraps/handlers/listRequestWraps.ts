import type { Handler } from '../../handler';

export const listRequestWraps: Handler<'listRequestWraps'> = async ({ services, principal, params, query }) => ({
  status: 200,
  body: await services.wraps.list(principal, params.id, query.user_id),
});
