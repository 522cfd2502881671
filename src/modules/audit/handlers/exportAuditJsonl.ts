import type { Handler } from '../../handler';
import { chainScope } from '../audit-service';
import { jsonLines } from '../audit-export';

export const exportAuditJsonl: Handler<'exportAuditJsonl'> = async ({ services, principal, query }) => ({
  status: 200,
  body: jsonLines(services.audit.export(await chainScope(services.orgs, principal, query.org_id), query)),
});
