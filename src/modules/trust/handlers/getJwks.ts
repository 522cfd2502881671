import type { Handler } from '../../handler';

export const getJwks: Handler<'getJwks'> = async ({ services }) => ({
  status: 200,
  body: await services.trust.jwks(),
  headers: { 'Cache-Control': 'public, max-age=3600' },
});
