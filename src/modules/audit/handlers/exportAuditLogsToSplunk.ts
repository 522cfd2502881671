import type { Handler } from '../../handler';

export const exportAuditLogsToSplunk: Handler<'exportAuditLogsToSplunk'> = async ({ services, principal, body }) => ({
  status: 200,
  body: await services.siem.toSplunk(principal, body),
});
