import type { Handler } from '../../handler';

const NO_STORE = { 'Cache-Control': 'no-store' };

/** A browser is redirected; a script that asks for JSON (and not HTML) gets the URL to send its browser to. */
export const startOidcLogin: Handler<'startOidcLogin'> = async ({ services, query, req }) => {
  const started = await services.oidc.start(query.redirect_url);
  return req.accepts(['text/html', 'application/json']) === 'application/json'
    ? { status: 200, body: started, headers: NO_STORE }
    : { status: 302, body: undefined, headers: { ...NO_STORE, Location: started.authorization_url } };
};
