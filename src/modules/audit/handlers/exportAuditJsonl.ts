import type { Handler } from '../../handler';
import { jsonLines } from '../audit-export';

export const exportAuditJsonl: Handler<'exportAuditJsonl'> = async ({ services, principal, query }) => ({
  status: 200,
  body: jsonLines(await services.audit.export(principal, query.org_id, query)),
});
