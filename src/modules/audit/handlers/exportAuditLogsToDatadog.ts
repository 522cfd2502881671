import type { Handler } from '../../handler';
import { requestFactsOf } from '../../../audit/audit-event';

export const exportAuditLogsToDatadog: Handler<'exportAuditLogsToDatadog'> = async ({ services, principal, body, req }) => ({
  status: 200,
  body: await services.siem.toDatadog(principal, requestFactsOf(req), body),
});
