import type { Handler } from '../../handler';

export const listLedgerAccounts: Handler<'listLedgerAccounts'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.ledger.listAccounts(principal, { ...query, limit: query.limit ?? 50 }),
});
