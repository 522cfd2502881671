import { requestFactsOf } from '../../../audit/audit-event';
import type { Handler } from '../../handler';

export const requestAdminPin: Handler<'requestAdminPin'> = async ({ services, body, req }) => ({
  status: 200,
  body: await services.admin.requestPin(body.email, requestFactsOf(req)),
});
