import type { Handler } from '../../handler';

export const requestAdminPin: Handler<'requestAdminPin'> = async ({ services, body }) => ({
  status: 200,
  body: await services.admin.requestPin(body.email),
});
