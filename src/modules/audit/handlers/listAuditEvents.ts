import type { Handler } from '../../handler';

export const listAuditEvents: Handler<'listAuditEvents'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.audit.list(principal, undefined, { ...query, limit: query.limit ?? 50 }),
});
