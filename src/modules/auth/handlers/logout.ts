import type { Handler } from '../../handler';

export const logout: Handler<'logout'> = async ({ services, principal }) => {
  await services.auth.logout(principal);
  return { status: 200, body: { revoked: true } };
};
