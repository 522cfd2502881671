import type { Handler } from '../../handler';

export const getTxStats: Handler<'getTxStats'> = async ({ services, principal, query }) => ({
  status: 200,
  body: await services.marketplace.orgStats(principal, query),
});
