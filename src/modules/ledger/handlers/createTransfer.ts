import type { Handler } from '../../handler';

export const createTransfer: Handler<'createTransfer'> = async ({ services, principal, body }) => services.ledger.transfer(principal, body);
