import { PayloadTooLargeError } from '../../../errors/api-error';
import type { Handler } from '../../handler';

/** Stripe's events are a few KiB; the signature covers the exact bytes, so they are read raw (x-stream-body). */
const MAX_WEBHOOK_BYTES = 256 * 1024;

export const receiveStripeWebhook: Handler<'receiveStripeWebhook'> = async ({ services, req, headers }) => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_WEBHOOK_BYTES) throw new PayloadTooLargeError(MAX_WEBHOOK_BYTES);
    chunks.push(chunk);
  }
  const signature = headers['stripe-signature'];
  return {
    status: 200,
    body: await services.stripeBilling.receiveWebhook(Buffer.concat(chunks), typeof signature === 'string' ? signature : undefined),
  };
};
