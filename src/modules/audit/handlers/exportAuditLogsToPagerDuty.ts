import type { Handler } from '../../handler';
import { requestFactsOf } from '../../../audit/audit-event';

export const exportAuditLogsToPagerDuty: Handler<'exportAuditLogsToPagerDuty'> = async ({ services, principal, body, req }) => ({
  status: 200,
  body: await services.siem.toPagerDuty(principal, requestFactsOf(req), body),
});
