import type { Handler } from '../../handler';

export const createLedgerDeposit: Handler<'createLedgerDeposit'> = async ({ services, principal, body }) => ({
  status: 201,
  body: await services.ledger.deposit(principal, body),
});
