import type { Handler } from '../../handler';
import { chainScope } from '../audit-service';

export const verifyAuditChain: Handler<'verifyAuditChain'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.audit.verify(await chainScope(services.orgs, principal, query.organization_id)),
});
