import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fixture received it: Stripe's form encoding, decoded to its flat keys (`metadata[x]`). */
export interface StripeRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: Record<string, string>;
  idempotencyKey: string | undefined;
}

interface Invoice {
  id: string;
  object: 'invoice';
  customer: string;
  currency: string;
  collection_method: string;
  days_until_due: number | null;
  status: 'draft' | 'open';
  amount_due: number;
  total: number;
  hosted_invoice_url: string | null;
  metadata: Record<string, string>;
  lines: { object: 'list'; data: Array<{ id: string; amount: number; description: string }>; has_more: false; url: string };
  livemode: false;
  created: number;
}

/**
 * A small Stripe-shaped API on 127.0.0.1: just the endpoints Warden calls (customers, invoice items,
 * invoices, finalize), with Stripe's form encoding, object shapes, error bodies and idempotency
 * (a key replays its first answer; the same key with other parameters is 400 `idempotency_error`).
 */
export interface StripeFixture {
  /** For STRIPE_API_BASE. */
  url: string;
  requests: StripeRequest[];
  customers: Map<string, { id: string; name: string | null; email: string | null; metadata: Record<string, string> }>;
  invoices: Map<string, Invoice>;
  /** Answers the next request to `path` (e.g. '/v1/invoices') with Stripe's 400 invalid_request_error. */
  failNext(path: string): void;
  close(): Promise<void>;
}

const id = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

const metadataOf = (form: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(form)
      .filter(([key]) => key.startsWith('metadata['))
      .map(([key, value]) => [key.slice('metadata['.length, -1), value]),
  );

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': id('req'), ...headers });
  res.end(JSON.stringify(body));
}

const stripeError = (type: string, message: string) => ({ error: { type, message } });

export async function startStripeFixture(secretKey: string): Promise<StripeFixture> {
  const requests: StripeRequest[] = [];
  const customers: StripeFixture['customers'] = new Map();
  const invoices: StripeFixture['invoices'] = new Map();
  const replays = new Map<string, { form: string; status: number; body: unknown }>();
  const failures = new Set<string>();

  function handle(req: StripeRequest): { status: number; body: unknown } {
    const { form, path } = req;
    if (req.method === 'POST' && path === '/v1/customers') {
      const customer = {
        id: id('cus'),
        object: 'customer',
        name: form.name ?? null,
        email: form.email ?? null,
        metadata: metadataOf(form),
      };
      customers.set(customer.id, customer);
      return { status: 200, body: customer };
    }
    if (req.method === 'POST' && path === '/v1/invoices') {
      if (!customers.has(form.customer ?? '')) return { status: 400, body: stripeError('invalid_request_error', 'No such customer') };
      const invoice: Invoice = {
        id: id('in'),
        object: 'invoice',
        customer: form.customer!,
        currency: form.currency ?? 'usd',
        collection_method: form.collection_method ?? 'charge_automatically',
        days_until_due: form.days_until_due === undefined ? null : Number(form.days_until_due),
        status: 'draft',
        amount_due: 0,
        total: 0,
        hosted_invoice_url: null,
        metadata: metadataOf(form),
        lines: { object: 'list', data: [], has_more: false, url: '' },
        livemode: false,
        created: Math.floor(Date.now() / 1000),
      };
      invoices.set(invoice.id, invoice);
      return { status: 200, body: invoice };
    }
    if (req.method === 'POST' && path === '/v1/invoiceitems') {
      const invoice = invoices.get(form.invoice ?? '');
      if (invoice?.status !== 'draft') return { status: 400, body: stripeError('invalid_request_error', 'No such draft invoice') };
      if (!/^\d+$/.test(form.amount ?? '')) return { status: 400, body: stripeError('invalid_request_error', 'Invalid integer: amount') };
      const item = {
        id: id('ii'),
        object: 'invoiceitem',
        amount: Number(form.amount),
        description: form.description ?? '',
        invoice: invoice.id,
      };
      invoice.lines.data.push(item);
      invoice.amount_due += item.amount;
      invoice.total += item.amount;
      return { status: 200, body: item };
    }
    const finalize = /^\/v1\/invoices\/([^/]+)\/finalize$/.exec(path);
    if (req.method === 'POST' && finalize) {
      const invoice = invoices.get(finalize[1]!);
      if (!invoice) return { status: 404, body: stripeError('invalid_request_error', 'No such invoice') };
      invoice.status = 'open';
      invoice.hosted_invoice_url = `https://invoice.stripe.test/i/${invoice.id}`;
      return { status: 200, body: invoice };
    }
    return { status: 404, body: stripeError('invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`) };
  }

  const server = createServer((incoming, res) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const key = incoming.headers['idempotency-key'];
      const req: StripeRequest = {
        method: incoming.method!,
        path: incoming.url!.split('?')[0]!,
        headers: incoming.headers,
        form: Object.fromEntries(new URLSearchParams(text)),
        idempotencyKey: typeof key === 'string' ? key : undefined,
      };
      requests.push(req);
      if (incoming.headers.authorization !== `Bearer ${secretKey}`) {
        return send(res, 401, stripeError('invalid_request_error', 'Invalid API Key provided'));
      }
      if (req.method === 'POST' && incoming.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        return send(res, 400, stripeError('invalid_request_error', 'Stripe takes form-encoded bodies'));
      }
      if (req.idempotencyKey !== undefined) {
        const seen = replays.get(req.idempotencyKey);
        if (seen && seen.form !== text) {
          return send(
            res,
            400,
            stripeError('idempotency_error', 'Keys for idempotent requests can only be used with the same parameters.'),
          );
        }
        if (seen) return send(res, seen.status, seen.body, { 'Idempotent-Replayed': 'true' });
      }
      // A request refused before it ran is not saved under its key (Stripe's rule), so a retry runs it.
      if (failures.delete(req.path)) return send(res, 400, stripeError('invalid_request_error', `Refused by the fixture: ${req.path}`));
      const answer = handle(req);
      if (req.idempotencyKey !== undefined) replays.set(req.idempotencyKey, { form: text, ...answer });
      send(res, answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    customers,
    invoices,
    failNext: (path) => failures.add(path),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
