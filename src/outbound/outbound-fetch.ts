import { Readable } from 'node:stream';
import type { OutboundHttp } from './outbound-http';

/** What a library's fetch hook (openid-client's `customFetch`) passes: no streams, no redirects followed. */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string> | Headers;
  body?: ConstructorParameters<typeof Response>[0];
}

/** Statuses whose Response may not have a body (the Fetch standard's null-body statuses). */
const NULL_BODY = new Set([204, 205, 304]);

/**
 * A `fetch` for libraries that call out on Warden's behalf (an OpenID provider's discovery, keys
 * and token endpoints): every request goes through OutboundHttp, so the SSRF rules, address
 * pinning, the allow-list and the extra CA apply to it as to any other call out. Nothing is
 * retried (a token request is not idempotent), redirects are handed back, not followed, and an
 * answer is read to `maxResponseBytes` at most.
 */
export function outboundFetch(outbound: OutboundHttp, limits: { timeoutMs: number; maxResponseBytes: number }) {
  return async (url: string, init: FetchInit = {}): Promise<Response> => {
    const destination = await outbound.destination(url);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    // Sent with a Content-Length: some token endpoints refuse a chunked body.
    const payload = init.body === undefined || init.body === null ? undefined : Buffer.from(await new Response(init.body).arrayBuffer());
    if (payload) headers['content-length'] = String(payload.length);
    const answer = await outbound.forward(destination, {
      method: init.method ?? 'GET',
      headers: { ...headers, 'user-agent': 'Warden' },
      body: payload && Readable.from([payload]),
      timeoutMs: limits.timeoutMs,
      maxResponseBytes: limits.maxResponseBytes,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) chunks.push(chunk as Buffer);
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
    }
    return new Response(NULL_BODY.has(answer.status) ? null : Buffer.concat(chunks), {
      status: answer.status,
      headers: responseHeaders,
    });
  };
}
