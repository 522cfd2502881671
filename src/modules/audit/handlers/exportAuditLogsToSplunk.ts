import type { Handler } from '../../handler';
import { requestFactsOf } from '../../../audit/audit-event';

export const exportAuditLogsToSplunk: Handler<'exportAuditLogsToSplunk'> = async ({ services, principal, body, req }) => ({
  status: 200,
  body: await services.siem.toSplunk(principal, requestFactsOf(req), body),
});
