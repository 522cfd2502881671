import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const logout: Handler<'logout'> = async ({ services, principal, req }) => {
  await services.auth.logout(principal, requestFactsOf(req));
  return { status: 200, body: { revoked: true } };
};
