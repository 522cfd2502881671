import type { Handler } from '../../handler';

export const deleteUser: Handler<'deleteUser'> = async ({ services, principal, params }) => {
  await services.users.delete(principal, params.user_id);
  return { status: 204, body: undefined };
};
