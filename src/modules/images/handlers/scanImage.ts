import type { Handler } from '../../handler';

export const scanImage: Handler<'scanImage'> = async ({ services, principal, params }) => {
  const scan = await services.images.requestScan(principal, params.ref);
  return { status: 202, headers: { Location: `/api/v1/image-scans/${scan.id}` }, body: scan };
};
