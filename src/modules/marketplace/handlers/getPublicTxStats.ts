import type { Handler } from '../../handler';

export const getPublicTxStats: Handler<'getPublicTxStats'> = async ({ services, query }) => ({
  status: 200,
  body: await services.marketplace.publicStats(query),
  headers: { 'Cache-Control': 'public, max-age=60' },
});
