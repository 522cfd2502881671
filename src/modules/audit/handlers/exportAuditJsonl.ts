import type { Handler } from '../../handler';
import { jsonLines } from '../audit-export';

export const exportAuditJsonl: Handler<'exportAuditJsonl'> = async ({ services, principal, query }) => ({
  status: 200,
  body: jsonLines(services.audit.export(await services.orgs.scope(principal, query.org_id), query)),
});
