import type { Handler } from '../../handler';

export const startOidcLogin: Handler<'startOidcLogin'> = async ({ services, query }) => ({
  status: 302,
  body: undefined,
  headers: { 'Cache-Control': 'no-store', Location: await services.oidc.start(query.redirect_url) },
});
