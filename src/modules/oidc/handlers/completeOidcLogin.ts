import type { Handler } from '../../handler';

const NO_STORE = { 'Cache-Control': 'no-store' };

/** 302 on to the redirect URL (JWT in its fragment), or 200 with the login. */
export const completeOidcLogin: Handler<'completeOidcLogin'> = async ({ services, query }) => {
  const outcome = await services.oidc.complete(query as Record<string, string>);
  return outcome.redirectTo
    ? { status: 302, body: undefined, headers: { ...NO_STORE, Location: outcome.redirectTo } }
    : { status: 200, body: outcome.login, headers: NO_STORE };
};
