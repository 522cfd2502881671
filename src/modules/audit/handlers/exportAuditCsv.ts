import type { Handler } from '../../handler';
import { chainScope } from '../audit-service';
import { csvRows } from '../audit-export';

export const exportAuditCsv: Handler<'exportAuditCsv'> = async ({ services, principal, query }) => ({
  status: 200,
  body: csvRows(services.audit.export(await chainScope(services.orgs, principal, query.org_id), query)),
  headers: { 'Content-Disposition': 'attachment; filename="audit.csv"' },
});
