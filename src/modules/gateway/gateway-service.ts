import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { type Readable, Transform } from 'node:stream';
import {
  BadGatewayError,
  BadRequestError,
  GatewayTimeoutError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
} from '../../errors/api-error';
import {
  DestinationRefusedError,
  DestinationUnresolvableError,
  type ForwardedResponse,
  type OutboundHttp,
  UpstreamFailureError,
  UpstreamTimeoutError,
} from '../../outbound/outbound-http';
import type { GatewayKeyService } from '../gateway-keys';
import { applyVendorCredential, type VendorService } from '../vendors';

/** The part of the gateway-keys module the gateway calls: 401/403 in the house error shape for a dead key. */
export type GatewayKeyAuthenticator = Pick<GatewayKeyService, 'authenticate'>;
/** The part of the vendors module the gateway calls: null when absent, deleted or another org's. */
export type VendorUpstreams = Pick<VendorService, 'upstreamFor'>;

/** What the gateway reads of a request: the binding's handler context satisfies it. */
export interface GatewayRequest {
  params: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** The request itself, its body still unread (the operation is `x-stream-body`). */
  req: IncomingMessage & { originalUrl?: string; res?: ServerResponse | null };
}

/** The vendor's answer, its body streaming: status, end-to-end headers and body as the vendor sent them. */
export type GatewayAnswer = ForwardedResponse;

export interface GatewayLimits {
  /** The longest silence from the vendor: connecting, between upload chunks, before its answer and within its body. */
  timeoutMs: number;
  /** The largest request body passed on (413 beyond it); counted as it streams, never buffered. */
  maxRequestBytes: number;
}
export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = { timeoutMs: 60_000, maxRequestBytes: 32 * 1024 * 1024 };

/** Warden's own request headers: they steer the gateway and are none of the vendor's business. */
const WARDEN_HEADER = /^x-warden-/;

/**
 * The gateway's data path: the agent's gateway key → its vendor → the vendor's credential in
 * place of the agent's → the call streamed to the vendor's `base_url` and its answer streamed
 * back. Policy, budget, approvals, billing and audit wrap `forward` in the gateway module.
 */
export class GatewayService {
  private readonly gatewayKeys: GatewayKeyAuthenticator;
  private readonly vendors: VendorUpstreams;
  private readonly outbound: OutboundHttp;
  private readonly limits: GatewayLimits;

  constructor(deps: { gatewayKeys: GatewayKeyAuthenticator; vendors: VendorUpstreams; outbound: OutboundHttp; limits?: GatewayLimits }) {
    this.gatewayKeys = deps.gatewayKeys;
    this.vendors = deps.vendors;
    this.outbound = deps.outbound;
    this.limits = deps.limits ?? DEFAULT_GATEWAY_LIMITS;
  }

  async forward(request: GatewayRequest): Promise<GatewayAnswer> {
    const caller = await this.gatewayKeys.authenticate(bearerOf(request.headers));
    const vendorId = String(request.params.vendor_id);
    // A key opens its own vendor only; another vendor of the same org is as absent as another org's.
    const upstream = caller.vendorId === vendorId ? await this.vendors.upstreamFor(caller.orgId, vendorId) : null;
    if (!upstream) throw new NotFoundError(`No vendor ${vendorId} for this gateway key.`, 'VENDOR_NOT_FOUND');

    const { req } = request;
    const url = upstreamUrl(upstream.baseUrl, String(request.params.path), req.originalUrl ?? req.url ?? '');
    const headers = forwardedHeaders(request.headers);
    applyVendorCredential(upstream, url, headers);
    const destination = await this.outbound.destination(url.href).catch((error: unknown) => {
      if (error instanceof DestinationRefusedError || error instanceof DestinationUnresolvableError) {
        throw new BadGatewayError(`Warden may not call this vendor's address: it ${error.message}.`, 'UPSTREAM_REFUSED');
      }
      throw error;
    });

    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > this.limits.maxRequestBytes) throw new PayloadTooLargeError(this.limits.maxRequestBytes);
    const chunked = request.headers['transfer-encoding'] !== undefined;
    // Node's parser holds a declared length to what arrives, so only a chunked body needs counting.
    const body = chunked ? capped(req, this.limits.maxRequestBytes) : declared > 0 ? req : undefined;
    // The caller leaving before the answer's headers cancels the call; after them, the piped answer's own teardown does.
    const cancelled = new AbortController();
    const leave = () => cancelled.abort();
    req.res?.once('close', leave);
    try {
      return await this.outbound.forward(destination, {
        method: req.method ?? 'GET',
        headers,
        ...(body ? { body } : {}),
        timeoutMs: this.limits.timeoutMs,
        signal: cancelled.signal,
      });
    } catch (error) {
      if (error instanceof UpstreamTimeoutError) {
        throw new GatewayTimeoutError(`The vendor did not answer within ${this.limits.timeoutMs} ms.`, 'UPSTREAM_TIMEOUT');
      }
      if (error instanceof UpstreamFailureError) {
        throw new BadGatewayError(`The vendor could not be reached or broke the connection (${error.message}).`, 'UPSTREAM_UNREACHABLE');
      }
      throw error;
    } finally {
      req.res?.off('close', leave);
    }
  }
}

function bearerOf(headers: IncomingHttpHeaders): string {
  const match = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '');
  if (!match) throw new UnauthorizedError('No gateway key: send it as Authorization: Bearer.', 'CREDENTIAL_MISSING');
  return match[1]!;
}

/**
 * `base_url` + the caller's path and query as sent. A dot segment, in any spelling a server may
 * decode (`..`, `%2e%2E`, `..%2f` inside one segment), could climb out of the base path, so it is refused.
 */
function upstreamUrl(baseUrl: string, rawPath: string, requestTarget: string): URL {
  for (const segment of rawPath.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new BadRequestError('The gateway path is not valid percent-encoding.', 'MALFORMED_PATH');
    }
    if (decoded.split(/[/\\]/).some((piece) => piece === '.' || piece === '..')) {
      throw new BadRequestError('The gateway path may not hold a dot segment (. or ..).', 'GATEWAY_PATH_REFUSED');
    }
  }
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${rawPath}`;
  const query = requestTarget.indexOf('?');
  url.search = query === -1 ? '' : requestTarget.slice(query);
  return url;
}

/** The agent's headers minus its gateway key and Warden's own; hop-by-hop ones go in OutboundHttp.forward. */
function forwardedHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || name === 'authorization' || WARDEN_HEADER.test(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** The body, failing with 413 once more than `limit` bytes have streamed through. */
function capped(body: Readable, limit: number): Readable {
  let passed = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      passed += chunk.length;
      done(passed > limit ? new PayloadTooLargeError(limit) : null, chunk);
    },
  });
  body.on('error', (error) => counter.destroy(error));
  return body.pipe(counter);
}
