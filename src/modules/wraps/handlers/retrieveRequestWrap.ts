import type { Handler } from '../../handler';

export const retrieveRequestWrap: Handler<'retrieveRequestWrap'> = async ({ services, principal, params, query }) => ({
  status: 200,
  headers: { 'Cache-Control': 'no-store' },
  body: await services.wraps.retrieveForRequester(principal, params.id, params.wrap_id, query.user_id),
});
