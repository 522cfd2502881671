import type { Handler } from '../../handler';

export const getImageScanReport: Handler<'getImageScanReport'> = async ({ services, principal, params }) => ({
  status: 200,
  body: await services.images.report(principal, params.ref),
});
