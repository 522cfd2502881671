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

/** The gateway-keys module's face (faces.md): who a gateway key speaks for. */
export interface GatewayCaller {
  keyId: string;
  orgId: string;
  agentId: string;
  vendorId: string;
}
/** `Pick<GatewayKeyService, 'authenticate'>`: 401/403 in the house error shape for a dead key. */
export interface GatewayKeyAuthenticator {
  authenticate(secret: string): Promise<GatewayCaller>;
}

/** The vendors module's face (faces.md): where a vendor lives and the credential Warden holds for it. */
export interface VendorUpstream {
  id: string;
  orgId: string;
  baseUrl: string;
  authType: 'bearer' | 'header' | 'query' | 'basic';
  headerName: string | null;
  /** Decrypted; never logged, never in an error. */
  apiKey: string;
  costHeader: string | null;
}
/** `Pick<VendorService, 'upstreamFor'>`: null when absent, deleted or another org's. */
export interface VendorUpstreams {
  upstreamFor(orgId: string, vendorId: string): Promise<VendorUpstream | null>;
}

/**
 * Puts the vendor's credential on the outgoing request (faces.md; the vendors module owns the
 * real one, which replaces this at merge). `basic` takes `user:password` as the key.
 */
export function applyVendorCredential(upstream: VendorUpstream, url: URL, headers: Record<string, string>): void {
  switch (upstream.authType) {
    case 'bearer':
      headers.authorization = `Bearer ${upstream.apiKey}`;
      break;
    case 'header':
      headers[(upstream.headerName ?? 'x-api-key').toLowerCase()] = upstream.apiKey;
      break;
    case 'query': {
      // Edited as text: URLSearchParams would re-encode the caller's whole query. A parameter of the
      // credential's name that the caller sent is dropped, so the vendor sees exactly one, Warden's.
      const name = upstream.headerName ?? 'api_key';
      const pairs = url.search
        .slice(1)
        .split('&')
        .filter((pair) => pair !== '' && queryName(pair) !== name);
      pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(upstream.apiKey)}`);
      url.search = `?${pairs.join('&')}`;
      break;
    }
    case 'basic':
      headers.authorization = `Basic ${Buffer.from(upstream.apiKey).toString('base64')}`;
      break;
  }
}

function queryName(pair: string): string {
  const raw = pair.split('=', 1)[0]!.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

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
