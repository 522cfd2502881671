import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import type { OutboundConfig } from '../config/config';
import { forbiddenAddressReason } from './address-policy';

export interface OutboundPolicy {
  /** Hosts (`name` or `name:port`) that may be reached over plain http and at non-public addresses. */
  allowedHosts: readonly string[];
  /** Limit for one attempt, from connecting to the last byte of the answer. */
  timeoutMs: number;
  /** First backoff; each retry waits twice as long as the one before (or what Retry-After says). */
  retryBaseMs: number;
  /** PEM of certificate authorities to trust besides the usual public ones. */
  extraCa?: string;
}

const ATTEMPTS = 3;
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_RETRY_AFTER_MS = 10_000;
const KEEP_ALIVE_IDLE_MS = 4_000;

/** The client's policy from configuration: the extra CA file is read once, at start-up. */
export function outboundPolicy(config: OutboundConfig): OutboundPolicy {
  return { ...config, extraCa: config.caFile ? readFileSync(config.caFile, 'utf8') : undefined };
}

/** The URL may not be called: its scheme, its credentials or the address it resolves to. */
export class DestinationRefusedError extends Error {}
/** The URL's host does not resolve. */
export class DestinationUnresolvableError extends Error {}

/** A URL whose host was resolved once and checked; every attempt connects to `address`. */
export interface Destination {
  url: URL;
  address: string;
  family: 4 | 6;
}

/**
 * A URL whose scheme and credentials were checked (and its address, when the host is an IP
 * literal), and whose host name is resolved and checked as each connection to it is made: what
 * `forward` connects to over kept-alive connections, so a call that reuses one resolves nothing.
 */
export interface Route {
  url: URL;
  allowListed: boolean;
}

export interface Delivery {
  ok: boolean;
  /** The last HTTP status, or null when no answer came. */
  status: number | null;
  attempts: number;
  /** Why the last attempt failed, for people ('HTTP 503', 'timed out after 10000 ms', …). */
  reason: string;
}

interface Attempt extends Omit<Delivery, 'attempts'> {
  retryable: boolean;
  retryAfterMs?: number;
}

type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

/** One proxied request: streamed out as it arrives, never retried (it need not be idempotent). */
export interface ForwardRequest {
  method: string;
  /** End-to-end headers; hop-by-hop ones and `Host` are dropped here whatever the caller passes. */
  headers: IncomingHttpHeaders | OutgoingHttpHeaders;
  body?: Readable;
  /** The longest silence: connecting, between chunks of an upload, waiting for the answer, and within its body. */
  timeoutMs: number;
  /** The answer's body is cut off (the stream fails) past this many bytes. */
  maxResponseBytes?: number;
  /** Aborting it (the caller went away) tears down the upstream request at any stage. */
  signal?: AbortSignal;
  /**
   * The caller's own response, for a proxy: its `close` before the answer's headers arrive tears the
   * upstream request down, as an abort would (after them, piping the answer to it does). An event
   * listener costs a proxied call less than an AbortController and its EventTarget.
   */
  closedBy?: { once(event: 'close', listener: () => void): unknown; off(event: 'close', listener: () => void): unknown };
}

export interface ForwardedResponse {
  status: number;
  /** The upstream's end-to-end headers (hop-by-hop ones dropped). */
  headers: Record<string, string | string[]>;
  /** The upstream's body, streamed: piping it onward respects backpressure; destroying it closes the connection. */
  body: Readable;
}

/** The upstream did not answer in time (a gateway answers 504). */
export class UpstreamTimeoutError extends Error {}
/** The upstream could not be reached, or broke the connection or the protocol before answering (502). */
export class UpstreamFailureError extends Error {
  /** True when no connection was made, so nothing of the request can have reached the upstream. */
  constructor(
    message: string,
    readonly unsent = false,
  ) {
    super(message);
  }
}

/** Failures to connect at all: the request never left. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** RFC 9110 §7.6.1: meaningful for one connection only, never passed on by a proxy. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * The end-to-end headers of a message a proxy passes on: without the hop-by-hop ones, those the
 * Connection header names, any `Proxy-*` (credentials for a proxy, not for the far end), `Host`
 * (the connection's own) and `Expect` (answered by the hop that received it).
 */
export function endToEndHeaders(headers: IncomingHttpHeaders | OutgoingHttpHeaders): Record<string, string | string[]> {
  const connection = headers.connection ?? headers.Connection;
  // Most messages name nothing in Connection (or only keep-alive/close): no set to build then.
  const named =
    connection === undefined
      ? null
      : new Set(
          String(connection)
            .split(',')
            .map((name) => name.trim().toLowerCase())
            .filter(Boolean),
        );
  const kept: Record<string, string | string[]> = {};
  for (const rawName in headers) {
    const value = headers[rawName];
    const name = rawName.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name) || name.startsWith('proxy-')) continue;
    if (name === 'host' || name === 'expect') continue;
    kept[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return kept;
}

/**
 * Warden's only way to call a URL a caller gave it. The host is resolved once and every address
 * it resolves to is checked before anything is sent (no private, loopback, link-local or metadata
 * address unless the host is allow-listed), and every attempt connects to that checked address,
 * so a DNS answer that changes between check and use (rebinding) cannot redirect the request.
 * Redirects are never followed, answers are read to 64 KiB, and 429/5xx/network failures are
 * retried with exponential backoff.
 */
export class OutboundHttp {
  private readonly allowed: Array<{ hostname: string; port: string | null }>;
  /** Node's `ca` replaces the public roots, so extra authorities are added to them, not instead. */
  private readonly trusted: string[] | undefined;
  /**
   * Connections `forward` keeps open for the next call to the same host: a proxy that connects
   * anew per request pays a handshake each time. Every socket still connects to a checked,
   * pinned address; an idle one is closed before the usual 5 s server keep-alive can race a reuse.
   */
  private readonly pools = {
    'http:': new http.Agent({ keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS, scheduling: 'lifo' }),
  };

  constructor(
    private readonly policy: OutboundPolicy,
    private readonly resolve: Resolver = (host) => lookup(host, { all: true, verbatim: true }),
  ) {
    this.allowed = policy.allowedHosts.map((entry) => {
      const url = new URL(`http://${entry}`);
      return { hostname: url.hostname, port: url.port || null };
    });
    this.trusted = policy.extraCa ? [...rootCertificates, policy.extraCa] : undefined;
  }

  private isAllowListed(url: URL): boolean {
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return this.allowed.some((entry) => entry.hostname === url.hostname && (entry.port === null || entry.port === port));
  }

  /** Whether the URL's host is allow-listed; throws DestinationRefusedError for a scheme it may not use or credentials in it. */
  private admitted(url: URL): boolean {
    const allowListed = this.isAllowListed(url);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowListed)) {
      throw new DestinationRefusedError(
        url.protocol === 'http:'
          ? `must use https (plain http only for hosts in OUTBOUND_ALLOWED_HOSTS)`
          : `must use https, not ${url.protocol}`,
      );
    }
    if (url.username || url.password) throw new DestinationRefusedError('must not carry a user name or password');
    return allowListed;
  }

  /**
   * Checks a URL for `forward` without resolving it: its scheme and credentials now, and its
   * address now if the host is an IP literal (Node connects to those without a lookup); a host
   * name's addresses are resolved and every one checked as each new connection is made, and the
   * connection goes to those checked addresses (see `checkingLookup`). A kept-alive connection was
   * checked when it was made, so reusing it costs no resolution and no rebinding can redirect it.
   * Throws DestinationRefusedError.
   */
  route(url: URL): Route {
    const allowListed = this.admitted(url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!allowListed && isIP(host)) {
      const reason = forbiddenAddressReason(host);
      if (reason) throw new DestinationRefusedError(`${host} is ${reason}`);
    }
    return { url, allowListed };
  }

  /** Parses, resolves and checks a URL; throws DestinationRefusedError or DestinationUnresolvableError. */
  async destination(rawUrl: string): Promise<Destination> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new DestinationRefusedError('is not a valid absolute URL');
    }
    const allowListed = this.admitted(url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: Array<{ address: string; family: number }>;
    if (isIP(host)) {
      addresses = [{ address: host, family: isIP(host) }];
    } else {
      try {
        addresses = await this.resolve(host);
      } catch {
        addresses = [];
      }
      if (addresses.length === 0) throw new DestinationUnresolvableError(`${host} does not resolve`);
    }
    if (!allowListed) assertPermitted(host, addresses);
    return { url, address: addresses[0]!.address, family: addresses[0]!.family === 6 ? 6 : 4 };
  }

  /**
   * The lookup of each new connection `forward` makes to a route: the host resolved now, every
   * address it resolves to checked (unless allow-listed), and the connection made to those
   * addresses only, so the check holds for the address actually connected to.
   */
  checkingLookup({ url, allowListed }: Route): LookupFunction {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return (_hostname, options, callback) => {
      const answer = callback as (
        error: Error | null,
        address: string | Array<{ address: string; family: number }>,
        family?: number,
      ) => void;
      this.resolve(host)
        .catch(() => [])
        .then((resolved) => {
          if (resolved.length === 0) throw new DestinationUnresolvableError(`${host} does not resolve`);
          if (!allowListed) assertPermitted(host, resolved);
          const wanted =
            options.family === 4 || options.family === 6 ? resolved.filter((entry) => entry.family === options.family) : resolved;
          if (wanted.length === 0) throw new DestinationUnresolvableError(`${host} has no IPv${options.family} address`);
          if ((options as { all?: boolean }).all) answer(null, wanted);
          else answer(null, wanted[0]!.address, wanted[0]!.family);
        })
        .catch((error: Error) => answer(error, ''));
    };
  }

  /** Closes the connections `forward` keeps for reuse (at shutdown). */
  close(): void {
    this.pools['http:'].destroy();
    this.pools['https:'].destroy();
  }

  /** POSTs `payload`, retrying 429, 5xx and network failures; never throws. */
  async post(destination: Destination, headers: Record<string, string>, payload: string): Promise<Delivery> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(destination, headers, payload);
      if (outcome.ok || !outcome.retryable || attempt >= ATTEMPTS) {
        return { ok: outcome.ok, status: outcome.status, attempts: attempt, reason: outcome.reason };
      }
      await sleep(outcome.retryAfterMs ?? this.policy.retryBaseMs * 2 ** (attempt - 1));
    }
  }

  /**
   * Proxies one request to a checked destination (every connection to its pinned address) or a
   * route (every new connection to the addresses its lookup resolved and checked; a kept-alive one
   * reused as it is), streaming the body both ways with backpressure: no retry (the request need not be idempotent), no redirect
   * followed (a 3xx comes back as any answer does). Resolves with the answer's status and headers
   * once they arrive; throws UpstreamTimeoutError when they do not within `timeoutMs`, and
   * UpstreamFailureError when the connection or the protocol fails first (a route's address
   * refused or unresolvable: DestinationRefusedError or DestinationUnresolvableError, nothing sent).
   * A failure of the request body itself (the caller's upload) rejects with that body's own error.
   */
  forward(target: Destination | Route, request: ForwardRequest): Promise<ForwardedResponse> {
    const { url } = target;
    const { body, signal, closedBy, timeoutMs } = request;
    if (signal?.aborted) return Promise.reject(new UpstreamFailureError('the caller went away before the request was sent', true));
    return new Promise<ForwardedResponse>((resolve, reject) => {
      let answered = false;
      const settled = () => {
        answered = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        closedBy?.off('close', abort);
      };
      const fail = (error: Error) => {
        if (answered) return;
        settled();
        req.destroy();
        reject(error);
      };
      const client = url.protocol === 'https:' ? https : http;
      const req = client.request(url, {
        method: request.method,
        agent: this.pools[url.protocol as 'http:' | 'https:'],
        lookup: 'address' in target ? pinnedLookup(target) : this.checkingLookup(target),
        ...(this.trusted ? { ca: this.trusted } : {}),
        headers: endToEndHeaders(request.headers),
      });
      const timer = setTimeout(() => fail(new UpstreamTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const abort = () => fail(new UpstreamFailureError('the caller went away'));
      signal?.addEventListener('abort', abort, { once: true });
      closedBy?.once('close', abort);
      req.on('error', (error: NodeJS.ErrnoException) =>
        fail(
          // A route's connection refused by the address policy (or unresolvable) sent nothing.
          error instanceof DestinationRefusedError || error instanceof DestinationUnresolvableError
            ? error
            : new UpstreamFailureError(error.code ?? error.message, CONNECT_FAILURES.has(error.code ?? '')),
        ),
      );
      req.on('response', (res) => {
        if (answered) {
          res.destroy();
          return;
        }
        // Past the headers the caller's stream owns the connection: an abort now tears down the body it pipes.
        settled();
        // Silence while the reader holds the stream back (backpressure) is the reader's, not the upstream's.
        const stalled = () => {
          if (res.readableFlowing === false) res.setTimeout(timeoutMs, stalled);
          else res.destroy(new UpstreamTimeoutError(`the answer stalled for ${timeoutMs} ms`));
        };
        res.setTimeout(timeoutMs, stalled);
        const limit = request.maxResponseBytes;
        resolve({
          status: res.statusCode ?? 502,
          headers: endToEndHeaders(res.headers),
          body: limit === undefined ? res : capped(res, limit),
        });
      });
      if (!body) {
        req.end();
        return;
      }
      // A long upload is progress, not silence: the wait for the answer counts from the last chunk sent.
      body.on('data', () => {
        if (!answered) timer.refresh();
      });
      pipeline(body, req).catch((error: Error) => fail(body.errored ?? new UpstreamFailureError(error.message)));
    });
  }

  private attempt(destination: Destination, headers: Record<string, string>, payload: string): Promise<Attempt> {
    const { url } = destination;
    const pinned = pinnedLookup(destination);
    return new Promise<Attempt>((settle) => {
      let settled = false;
      const finish = (outcome: Attempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        settle(outcome);
      };
      const client = url.protocol === 'https:' ? https : http;
      const req = client.request(
        url,
        {
          method: 'POST',
          agent: false,
          lookup: pinned,
          ...(this.trusted ? { ca: this.trusted } : {}),
          headers: { ...headers, 'Content-Length': String(Buffer.byteLength(payload)), 'User-Agent': 'Warden' },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            res.destroy();
            finish({ ok: false, status, retryable: false, reason: `HTTP ${status} redirect not followed` });
            return;
          }
          let received = 0;
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > MAX_RESPONSE_BYTES) {
              res.destroy();
              finish({ ok: false, status, retryable: false, reason: `the answer exceeded ${MAX_RESPONSE_BYTES} bytes` });
            }
          });
          res.on('error', (error) => finish(networkFailure(error)));
          res.on('end', () =>
            finish({
              ok: status >= 200 && status < 300,
              status,
              retryable: status === 429 || status >= 500,
              retryAfterMs: retryAfterMs(res.headers['retry-after']),
              reason: `HTTP ${status}`,
            }),
          );
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish({ ok: false, status: null, retryable: true, reason: `timed out after ${this.policy.timeoutMs} ms` });
      }, this.policy.timeoutMs);
      req.on('error', (error) => finish(networkFailure(error)));
      req.end(payload);
    });
  }
}

/** Throws DestinationRefusedError when any address the host resolved to is one Warden may not reach. */
function assertPermitted(host: string, addresses: ReadonlyArray<{ address: string }>): void {
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address);
    if (reason) throw new DestinationRefusedError(`${host === address ? host : `${host} resolves to ${address}, which`} is ${reason}`);
  }
}

/** Every connection to the destination goes to the address that was checked, whatever DNS says now. */
function pinnedLookup({ address, family }: Destination): LookupFunction {
  // Node asks for all addresses when it races IPv4 and IPv6; either way it gets the checked one.
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/** The stream, failing once more than `limit` bytes have passed. */
function capped(source: Readable, limit: number): Readable {
  let passed = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      passed += chunk.length;
      done(passed > limit ? new UpstreamFailureError(`the answer exceeded ${limit} bytes`) : null, chunk);
    },
  });
  pipeline(source, counter).catch(() => {
    // The counter carries the failure to whoever reads it; pipeline has destroyed the source.
  });
  return counter;
}

/** A refused or reset connection may work next time; a certificate that does not verify will not. */
function networkFailure(error: NodeJS.ErrnoException): Attempt {
  const reason = error.code ?? error.message;
  return { ok: false, status: null, retryable: !/CERT|SIGNATURE|TLS|SSL/.test(reason), reason };
}

/** Retry-After in seconds or as an HTTP date, capped so one export cannot be held for long. */
function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_MS) : undefined;
}
