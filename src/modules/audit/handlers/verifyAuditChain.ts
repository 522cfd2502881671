import type { Handler } from '../../handler';

export const verifyAuditChain: Handler<'verifyAuditChain'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.audit.verify(principal, query.organization_id),
});
