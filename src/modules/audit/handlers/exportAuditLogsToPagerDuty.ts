import type { Handler } from '../../handler';

export const exportAuditLogsToPagerDuty: Handler<'exportAuditLogsToPagerDuty'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.siem.toPagerDuty(principal, body),
});
