import type { Handler } from '../../handler';

export const createUser: Handler<'createUser'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.users.create(principal, body),
});
