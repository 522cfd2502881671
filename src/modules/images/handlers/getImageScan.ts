import type { Handler } from '../../handler';

export const getImageScan: Handler<'getImageScan'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.images.getScan(principal, params.id),
});
