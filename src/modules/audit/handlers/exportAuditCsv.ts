import type { Handler } from '../../handler';
import { csvRows } from '../audit-export';

export const exportAuditCsv: Handler<'exportAuditCsv'> = async ({ services, principal, query }) => ({
  status: 200,
  body: csvRows(await services.audit.export(principal, query.org_id, query)),
  headers: { 'Content-Disposition': 'attachment; filename="audit.csv"' },
});
