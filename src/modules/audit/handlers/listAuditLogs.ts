import type { Handler } from '../../handler';

export const listAuditLogs: Handler<'listAuditLogs'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.audit.list(principal, query.organization_id, { ...query, limit: query.limit ?? 50 }),
});
