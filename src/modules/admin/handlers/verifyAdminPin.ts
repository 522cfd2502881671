import type { Handler } from '../../handler';

export const verifyAdminPin: Handler<'verifyAdminPin'> = async ({ services, body }) => ({
  status: 200,
  body: await services.admin.verifyPin(body),
});
