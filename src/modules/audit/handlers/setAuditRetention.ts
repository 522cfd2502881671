import type { Handler } from '../../handler';

export const setAuditRetention: Handler<'setAuditRetention'> = async ({ services, principal, params, body }) => ({
  status: 200,
  body: await services.orgs.setAuditRetention(principal, params.org_id, body.audit_log_retention_days),
});
