import type { Handler } from '../../handler';

export const login: Handler<'login'> = async ({ services, body }) => ({
  status: 200,
  body: await services.auth.login(body.email, body.password),
});
