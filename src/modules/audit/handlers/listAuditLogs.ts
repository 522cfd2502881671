import type { Handler } from '../../handler';
import { chainScope } from '../audit-service';

export const listAuditLogs: Handler<'listAuditLogs'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.audit.list(await chainScope(services.orgs, principal, query.organization_id), { ...query, limit: query.limit ?? 50 }),
});
