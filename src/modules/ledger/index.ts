export { assertKnownCurrency } from './currencies';
export { ledgerHandlers } from './handlers';
export { idempotencyKeyReused, LedgerService, type OrgCharge, requestDigest } from './ledger-service';
