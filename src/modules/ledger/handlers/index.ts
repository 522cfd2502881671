import { createLedgerDeposit } from './createLedgerDeposit';
import { createTransfer } from './createTransfer';
import { listLedgerAccounts } from './listLedgerAccounts';

export const ledgerHandlers = { createTransfer, listLedgerAccounts, createLedgerDeposit };
