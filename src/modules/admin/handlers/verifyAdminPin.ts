import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const verifyAdminPin: Handler<'verifyAdminPin'> = async ({ services, body, req }) => ({
  status: 200,
  body: await services.admin.verifyPin(body, requestFactsOf(req)),
});
