import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError } from '../../../errors/api-error';
import type { Handler } from '../../handler';

/** Stripe's events are a few KiB; the signature covers the exact bytes, so they are read raw (x-stream-body). */
const MAX_WEBHOOK_BYTES = 256 * 1024;

/**
 * The body's bytes, refused past the limit. The rest of a refused body is drained, not torn
 * down, so the 413 still reaches the sender on its connection.
 */
function readRaw(req: IncomingMessage): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_WEBHOOK_BYTES) {
    req.resume();
    return Promise.reject(new PayloadTooLargeError(MAX_WEBHOOK_BYTES));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_WEBHOOK_BYTES) chunks.push(chunk);
      else reject(new PayloadTooLargeError(MAX_WEBHOOK_BYTES));
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export const receiveStripeWebhook: Handler<'receiveStripeWebhook'> = async ({ services, req, headers }) => {
  const raw = await readRaw(req);
  const signature = headers['stripe-signature'];
  return {
    status: 200,
    body: await services.stripeBilling.receiveWebhook(raw, typeof signature === 'string' ? signature : undefined),
  };
};
