import type { Handler } from '../../handler';

export const startMagicLink: Handler<'startMagicLink'> = async ({ services, body }) => ({
  status: 200,
  body: await services.auth.startMagicLink(body.email, body.redirect_url),
});
