import type { Handler } from '../../handler';

export const exportAuditLogsToDatadog: Handler<'exportAuditLogsToDatadog'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.siem.toDatadog(principal, body),
});
