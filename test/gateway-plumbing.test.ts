import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildOperationTable } from '../src/binding/operation-table';
import { loadConfig } from '../src/config/config';
import { endToEndHeaders, OutboundHttp, UpstreamFailureError } from '../src/outbound/outbound-http';
import { createGatewayKey, createGovernedAgent, createPolicy, createVendor } from './support/governance';
import { createOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The gateway's silence limit here: short, so the stall tests are quick, yet long enough that a test
 * process starved of CPU under a loaded CI machine is not taken for a silent vendor (400 ms was not).
 */
const SILENCE_MS = 1500;

/**
 * The gateway's mechanics, end to end through the app: the catch-all route, a body the binding
 * leaves unread, and OutboundHttp.forward streaming to an upstream on 127.0.0.1 and back, with
 * real gateway keys, vendors (credentials encrypted) and a policy that allows every call.
 */
const _FIXTURE = join(__dirname, 'fixtures/gateway-fixture.yaml');
const VENDOR_SECRET = 'vendor-secret-do-not-leak';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A vendor on 127.0.0.1 whose answer each test sets; it records what reached it. */
class Upstream {
  server!: Server;
  seen: Seen[] = [];
  handler: UpstreamHandler = echo;
  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handler(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
  }
}
const upstream = new Upstream();

/** Answers with what it received, as JSON. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    upstream.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, url: req.url, bytes: body.length }));
  });
}

describe('the gateway: catch-all route, streamed bodies, streaming forward, through the real modules', () => {
  let warden: TestApp;
  let base: string;
  let server: Server;
  /** Real vendor ids by the name each test uses. */
  const vendor: Record<'up' | 'other' | 'query' | 'meta' | 'private' | 'down' | 'unbound', string> = {} as never;
  /** Real gateway keys by the same names. */
  const key: Record<'up' | 'other' | 'query' | 'meta' | 'private' | 'down', string> = {} as never;
  let KEY: string;

  before(async () => {
    await upstream.start();
    const defaults = loadConfig({});
    warden = await startTestApp({
      config: {
        encryptionKey: randomBytes(32),
        outbound: { ...defaults.outbound, allowedHosts: ['127.0.0.1'] },
        gateway: { timeoutMs: SILENCE_MS, maxRequestBytes: 12 * 1024 * 1024 },
      },
    });
    server = warden.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const org = await createOrg(warden);
    const other = await createOrg(warden, 'enterprise', 'Other org');
    // One policy that allows everything within a cost: this file is about the plumbing (governance: gateway.test.ts).
    const policy = await createPolicy(warden, org, { max_cost_per_request: 100 });
    const agent = await createGovernedAgent(warden, org, { policy_ids: [policy.id] });
    const bearer = { api_key: VENDOR_SECRET, auth_type: 'bearer' };
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    closed.close();
    const made: Array<[keyof typeof key, string, Record<string, unknown>]> = [
      ['up', `http://127.0.0.1:${upstream.port}/base/`, bearer],
      ['query', `http://127.0.0.1:${upstream.port}/q`, { api_key: VENDOR_SECRET, auth_type: 'query', header_name: 'key' }],
      ['meta', `http://127.0.0.1:${upstream.port}/meta`, bearer],
      ['private', `http://127.0.0.1:${upstream.port}/private`, bearer],
      ['down', `http://127.0.0.1:${closedPort}/`, bearer],
    ];
    for (const [name, url, fields] of made) {
      vendor[name] = (await createVendor(warden, org, url, fields)).id;
      key[name] = (await createGatewayKey(warden, org, agent.id, vendor[name])).key;
    }
    vendor.unbound = (await createVendor(warden, org, `http://127.0.0.1:${upstream.port}/unbound`, bearer)).id;
    // Another org's agent and vendor, whose key opens nothing of this org.
    const theirPolicy = await createPolicy(warden, other, { max_cost_per_request: 100 });
    const theirAgent = await createGovernedAgent(warden, other, { policy_ids: [theirPolicy.id] });
    vendor.other = (await createVendor(warden, other, `http://127.0.0.1:${upstream.port}/other`, bearer)).id;
    key.other = (await createGatewayKey(warden, other, theirAgent.id, vendor.other)).key;
    // A vendor's host that later resolves elsewhere (DNS rebinding), or a base_url changed behind Warden's back,
    // is checked again on every call: here the stored base_url is moved to forbidden addresses directly.
    await warden.database.dataSource.query(`UPDATE vendors SET base_url = $1 WHERE id = $2`, [
      'https://169.254.169.254/latest',
      vendor.meta,
    ]);
    await warden.database.dataSource.query(`UPDATE vendors SET base_url = $1 WHERE id = $2`, ['http://10.1.2.3/api', vendor.private]);
    KEY = key.up;
  });
  after(async () => {
    server?.closeAllConnections();
    server?.close();
    await upstream.close();
    await warden?.close();
  });
  beforeEach(() => {
    upstream.seen = [];
    upstream.handler = echo;
  });

  /** A raw request: the path goes out byte for byte (no client-side URL normalisation of `..` or escapes). */
  function raw(
    method: string,
    path: string,
    headers: Record<string, string | number> = {},
  ): { request: http.ClientRequest; response: Promise<IncomingMessage> } {
    const request = http.request(`${base}/`, { method, path, headers: { Authorization: `Bearer ${KEY}`, ...headers }, agent: false });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      request.on('response', resolve);
      request.on('error', reject);
    });
    return { request, response };
  }
  async function text(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  }
  async function call(method: string, path: string, headers: Record<string, string | number> = {}, body?: string | Buffer) {
    const { request, response } = raw(method, path, headers);
    request.end(body);
    const res = await response;
    const payload = await text(res);
    return { status: res.statusCode!, headers: res.headers, text: payload, json: () => JSON.parse(payload) };
  }

  it('forwards every method to base_url + the rest of the path and the query exactly as sent', async () => {
    // (An encoded slash is refused by policy, path_invalid: a vendor may read it as a separator; gateway.test.ts.)
    const target = '/v1/files/a%3Ab/caf%C3%A9%20menu.txt/?q=a+b&q=c&empty=&x=%7B%7D';
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await warden.request[method.toLowerCase() as 'get'](`/api/v1/gateway/${vendor.up}${target}`)
        .set('Authorization', `Bearer ${KEY}`)
        .expect(200);
      assert.equal(res.body.url, `/base${target}`, method);
      assert.equal(res.body.method, method);
    }
    const other = await call('GET', `/api/v1/gateway/${vendor.up}/v1//double`);
    assert.equal(other.json().url, '/base/v1//double');
  });

  it('refuses a dot segment in any spelling a server may decode, before anything is sent (400 GATEWAY_PATH_REFUSED)', async () => {
    for (const path of ['v1/../admin', '..', 'v1/./x', '%2e%2E/admin', 'v1/%2E', 'a/..%2fadmin', 'a/..%5cadmin', 'x/%2e%2e%2f%2e%2e']) {
      const res = await call('GET', `/api/v1/gateway/${vendor.up}/${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(res.json().code, 'GATEWAY_PATH_REFUSED', path);
    }
    assert.equal((await call('GET', `/api/v1/gateway/${vendor.up}/bad%ZZescape`)).json().code, 'MALFORMED_PATH');
    // Dots that are not whole segments are names like any other.
    assert.equal(
      (await call('GET', `/api/v1/gateway/${vendor.up}/v1/file..name/.well-known`)).json().url,
      '/base/v1/file..name/.well-known',
    );
    assert.equal(upstream.seen.length, 1);
  });

  it('puts the vendor credential in place of the agent’s Authorization, and keeps Warden’s own headers to itself', async () => {
    await call(
      'POST',
      `/api/v1/gateway/${vendor.up}/v1/chat`,
      {
        'Content-Type': 'application/json',
        'X-Warden-Action': 'chat.create',
        'X-Warden-Cost-Usd': '0.25',
        'X-Custom': 'kept',
      },
      '{"hello":"world"}',
    );
    const [seen] = upstream.seen;
    assert.equal(seen!.headers.authorization, `Bearer ${VENDOR_SECRET}`);
    assert.ok(!JSON.stringify(seen!.headers).includes(KEY), 'the gateway key never reaches the vendor');
    assert.equal(seen!.headers['x-warden-action'], undefined);
    assert.equal(seen!.headers['x-warden-cost-usd'], undefined);
    assert.equal(seen!.headers['x-custom'], 'kept');
    assert.equal(seen!.headers['content-type'], 'application/json');
    assert.equal(seen!.headers.host, `127.0.0.1:${upstream.port}`, 'Host names the vendor, not Warden');
    assert.equal(seen!.body.toString(), '{"hello":"world"}');

    // The vendor sees exactly one credential parameter, Warden's: those of its name the caller sent are dropped.
    const query = await call('GET', `/api/v1/gateway/${vendor.query}/v1/x?a=1&q=x%20y+z&key=agents-own&k%65y=sneaky&keys=2`, {
      Authorization: `Bearer ${key.query}`,
    });
    const forwarded = new URL(query.json().url, 'http://vendor');
    assert.equal(forwarded.pathname, '/q/v1/x');
    assert.deepEqual(forwarded.searchParams.getAll('key'), [VENDOR_SECRET]);
    assert.deepEqual(
      [forwarded.searchParams.get('a'), forwarded.searchParams.get('q'), forwarded.searchParams.get('keys')],
      ['1', 'x y z', '2'],
    );
    assert.equal(upstream.seen[1]!.headers.authorization, undefined);
  });

  it('strips hop-by-hop headers both ways: Connection and what it names, Keep-Alive, Proxy-*, TE, Trailer, Upgrade', async () => {
    upstream.handler = (req, res) => {
      upstream.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.alloc(0) });
      req.resume();
      res.setHeader('Connection', 'keep-alive, X-Upstream-Hop');
      res.setHeader('X-Upstream-Hop', 'secret');
      res.setHeader('Keep-Alive', 'timeout=77');
      res.setHeader('Proxy-Authenticate', 'Basic realm="upstream"');
      res.setHeader('Trailer', 'X-Checksum');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('Link', ['</a>; rel=next', '</b>; rel=prev']);
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('X-Vendor', 'kept');
      res.end('ok');
    };
    const res = await call('GET', `/api/v1/gateway/${vendor.up}/v1/hop`, {
      Connection: 'keep-alive, X-Client-Hop',
      'X-Client-Hop': 'secret',
      'Keep-Alive': 'timeout=5',
      'Proxy-Authorization': 'Basic dXNlcjpwYXNz',
      TE: 'trailers',
      Upgrade: 'websocket',
      Expect: '100-continue',
      'X-End-To-End': 'kept',
    });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
    const sent = upstream.seen[0]!.headers;
    for (const name of ['x-client-hop', 'keep-alive', 'proxy-authorization', 'te', 'upgrade', 'expect']) {
      assert.equal(sent[name], undefined, `${name} reached the vendor`);
    }
    assert.equal(sent['x-end-to-end'], 'kept');
    for (const name of ['x-upstream-hop', 'proxy-authenticate', 'trailer']) {
      assert.equal(res.headers[name], undefined, `${name} reached the agent`);
    }
    // Warden's own connection to the agent has its own Connection and Keep-Alive, not the vendor's.
    assert.notEqual(res.headers['keep-alive'], 'timeout=77');
    assert.ok(!String(res.headers.connection).includes('X-Upstream-Hop'));
    assert.equal(res.headers['x-vendor'], 'kept');
    // Repeated headers pass as sent; a vendor's cookies would be set on Warden's origin, so they do not.
    assert.equal(res.headers.link, '</a>; rel=next, </b>; rel=prev');
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(res.headers['content-type'], 'text/plain', 'the vendor’s type, no charset added');
    assert.ok(res.headers['x-request-id']);
  });

  it('passes the vendor’s status, redirects included (never followed)', async () => {
    upstream.handler = (req, res) => {
      req.resume();
      if (req.url!.endsWith('/moved')) res.writeHead(302, { Location: 'http://169.254.169.254/' }).end();
      else res.writeHead(418, { 'Content-Type': 'application/problem+json' }).end('{"title":"teapot"}');
    };
    const moved = await call('GET', `/api/v1/gateway/${vendor.up}/moved`);
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, 'http://169.254.169.254/');
    const teapot = await warden.request.get(`/api/v1/gateway/${vendor.up}/teapot`).set('Authorization', `Bearer ${KEY}`).expect(418);
    assert.equal(teapot.headers['content-type'], 'application/problem+json');
  });

  it('answers 401 without a valid gateway key and 404 for a vendor the key is not bound to, calling nobody', async () => {
    const missing = await warden.request.get(`/api/v1/gateway/${vendor.up}/v1`).expect(401);
    assert.equal(missing.body.code, 'CREDENTIAL_MISSING');
    const wrong = await warden.request.get(`/api/v1/gateway/${vendor.up}/v1`).set('Authorization', 'Bearer sgk_nope').expect(401);
    assert.match(wrong.body.code, /^CREDENTIAL_(INVALID|MALFORMED)$/);
    // The key's vendor exists, but the path names another vendor of the org.
    const otherVendor = await warden.request.get(`/api/v1/gateway/${vendor.query}/v1`).set('Authorization', `Bearer ${KEY}`).expect(404);
    assert.equal(otherVendor.body.code, 'VENDOR_NOT_FOUND');
    // Another org's key on this org's vendor: as absent.
    const otherOrg = await warden.request.get(`/api/v1/gateway/${vendor.up}/v1`).set('Authorization', `Bearer ${key.other}`).expect(404);
    assert.equal(otherOrg.body.code, 'VENDOR_NOT_FOUND');
    const unknown = await warden.request.get(`/api/v1/gateway/${vendor.unbound}/v1`).set('Authorization', `Bearer ${KEY}`).expect(404);
    assert.equal(unknown.body.code, 'VENDOR_NOT_FOUND');
    assert.equal(upstream.seen.length, 0);
  });

  it('still validates headers and query per the spec (400), but not the body', async () => {
    const cost = await warden.request
      .get(`/api/v1/gateway/${vendor.up}/v1`)
      .set('Authorization', `Bearer ${KEY}`)
      .set('X-Warden-Cost-Usd', 'lots')
      .expect(400);
    assert.equal(cost.body.code, 'INVALID_PARAMETER');
    assert.equal(cost.body.details[0].field, 'x-warden-cost-usd');
    const nul = await warden.request.get(`/api/v1/gateway/${vendor.up}/v1?q=%00`).set('Authorization', `Bearer ${KEY}`).expect(400);
    assert.equal(nul.body.code, 'INVALID_PARAMETER');
    const invalidJson = await call('POST', `/api/v1/gateway/${vendor.up}/v1`, { 'Content-Type': 'application/json' }, '{"not json');
    assert.equal(invalidJson.status, 200);
    assert.equal(upstream.seen.at(-1)!.body.toString(), '{"not json');
  });

  it('answers 504 UPSTREAM_TIMEOUT when the vendor does not answer in time', async () => {
    upstream.handler = (req) => req.resume();
    const started = Date.now();
    const res = await warden.request.get(`/api/v1/gateway/${vendor.up}/slow`).set('Authorization', `Bearer ${KEY}`).expect(504);
    assert.equal(res.body.code, 'UPSTREAM_TIMEOUT');
    assert.equal(res.body.error, 'gateway_timeout');
    assert.ok(Date.now() - started < SILENCE_MS + 2000);
  });

  it('answers 502 UPSTREAM_UNREACHABLE when the vendor refuses the connection or breaks the protocol', async () => {
    const refused = await warden.request.get(`/api/v1/gateway/${vendor.down}/v1`).set('Authorization', `Bearer ${key.down}`).expect(502);
    assert.equal(refused.body.code, 'UPSTREAM_UNREACHABLE');
    assert.ok(!JSON.stringify(refused.body).includes(VENDOR_SECRET));
    upstream.handler = (req) => req.socket.end('this is not HTTP\r\n\r\n');
    const garbage = await warden.request.get(`/api/v1/gateway/${vendor.up}/v1`).set('Authorization', `Bearer ${KEY}`).expect(502);
    assert.equal(garbage.body.code, 'UPSTREAM_UNREACHABLE');
  });

  it('refuses a vendor address the SSRF rules forbid (502 UPSTREAM_REFUSED), sending nothing', async () => {
    const metadata = await warden.request.get(`/api/v1/gateway/${vendor.meta}/v1`).set('Authorization', `Bearer ${key.meta}`).expect(502);
    assert.equal(metadata.body.code, 'UPSTREAM_REFUSED');
    assert.match(metadata.body.message, /metadata/);
    const internal = await warden.request
      .get(`/api/v1/gateway/${vendor.private}/v1`)
      .set('Authorization', `Bearer ${key.private}`)
      .expect(502);
    assert.equal(internal.body.code, 'UPSTREAM_REFUSED');
    assert.ok(!JSON.stringify(internal.body).includes(VENDOR_SECRET));
  });

  it('streams an upload: the vendor has the first chunk before the agent sends the second, and 10 MB arrive intact', async () => {
    let firstChunkArrived: () => void;
    const arrived = new Promise<void>((resolve) => {
      firstChunkArrived = resolve;
    });
    const hash = createHash('sha256');
    let received = 0;
    upstream.handler = (req, res) => {
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        firstChunkArrived();
      });
      req.on('end', () => res.writeHead(201, { 'Content-Type': 'text/plain' }).end(String(received)));
    };
    const { request, response } = raw('PUT', `/api/v1/gateway/${vendor.up}/upload`, { 'Content-Type': 'application/octet-stream' });
    const sent = createHash('sha256');
    const first = randomBytes(64 * 1024);
    sent.update(first);
    request.write(first);
    // Would hang (and time out) if the binding or the gateway buffered the body before forwarding.
    await arrived;
    for (let total = first.length; total < 10 * 1024 * 1024; total += 256 * 1024) {
      const chunk = randomBytes(Math.min(256 * 1024, 10 * 1024 * 1024 - total));
      sent.update(chunk);
      if (!request.write(chunk)) await once(request, 'drain');
    }
    request.end();
    const res = await response;
    assert.equal(res.statusCode, 201);
    assert.equal(await text(res), String(10 * 1024 * 1024));
    assert.equal(hash.digest('hex'), sent.digest('hex'));
  });

  it('streams a download with backpressure: a reader that stops holds the vendor back; 32 MB arrive intact', async () => {
    // More than the two loopback hops' socket buffers can hold once the kernel has grown them under
    // load (10 MB once fitted): what the vendor cannot write is held back by Warden, not buffered in its heap.
    const size = 32 * 1024 * 1024;
    let written = 0;
    const sent = createHash('sha256');
    upstream.handler = async (req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      while (written < size) {
        const chunk = randomBytes(128 * 1024);
        sent.update(chunk);
        written += chunk.length;
        if (!res.write(chunk)) await once(res, 'drain');
      }
      res.end();
    };
    const { request, response } = raw('GET', `/api/v1/gateway/${vendor.up}/download`);
    request.end();
    const res = await response;
    res.pause();
    // Longer than the gateway's silence limit: a reader holding the stream back is not a stalled vendor.
    await sleep(SILENCE_MS + 300);
    // The agent reads nothing: socket buffers fill and the vendor must wait, not Warden's heap.
    assert.ok(written < size, `the vendor wrote ${written} bytes to a reader that read none`);
    const got = createHash('sha256');
    let bytes = 0;
    for await (const chunk of res) {
      got.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    assert.equal(bytes, size);
    assert.equal(got.digest('hex'), sent.digest('hex'));
  });

  it('cuts the answer off when the vendor falls silent mid-body', async () => {
    upstream.handler = (req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
    };
    const { request, response } = raw('GET', `/api/v1/gateway/${vendor.up}/stall`);
    request.end();
    const res = await response;
    assert.equal(res.statusCode, 200);
    await assert.rejects(text(res), /aborted|ECONNRESET/);
  });

  it('refuses a body declared past the limit before sending anything (413), and cuts a chunked one off there', async () => {
    const { request, response } = raw('POST', `/api/v1/gateway/${vendor.up}/big`, { 'Content-Length': 13 * 1024 * 1024 });
    request.write('x');
    const declared = await response;
    assert.equal(declared.statusCode, 413);
    assert.equal(JSON.parse(await text(declared)).code, 'PAYLOAD_TOO_LARGE');
    request.destroy();
    assert.equal(upstream.seen.length, 0);

    let vendorGot = 0;
    upstream.handler = (req) => req.on('data', (chunk: Buffer) => (vendorGot += chunk.length));
    const chunked = raw('POST', `/api/v1/gateway/${vendor.up}/big`, { 'Transfer-Encoding': 'chunked' });
    chunked.response.catch(() => {});
    const pump = (async () => {
      for (let total = 0; total < 14 * 1024 * 1024; total += 512 * 1024) {
        if (chunked.request.destroyed) return;
        if (!chunked.request.write(Buffer.alloc(512 * 1024))) await once(chunked.request, 'drain');
      }
    })().catch(() => {});
    const res = await chunked.response;
    assert.equal(res.statusCode, 413);
    assert.equal(JSON.parse(await text(res)).code, 'PAYLOAD_TOO_LARGE');
    chunked.request.destroy();
    await pump;
    assert.ok(vendorGot <= 12 * 1024 * 1024, `the vendor got ${vendorGot} bytes`);
    // Metered as the refusal it is: status 413, nothing spent.
    const [event] = await warden.database.dataSource.query(
      `SELECT status_code, allow, cost_micros FROM billing_events WHERE request_id = $1`,
      [res.headers['x-request-id']],
    );
    assert.deepEqual([event.status_code, event.allow, Number(event.cost_micros)], [413, false, 0]);
  });

  it('cancels the vendor’s request when the agent goes away, waiting or mid-download', async () => {
    const upstreamGone = () =>
      new Promise<void>((resolve) => {
        upstream.handler = (req, res) => {
          req.resume();
          res.on('close', () => resolve());
          if (req.url!.endsWith('/stream')) {
            res.writeHead(200, { 'Content-Type': 'text/plain' });
            const timer = setInterval(() => res.write('x'.repeat(1024)), 5);
            res.on('close', () => clearInterval(timer));
          }
        };
      });
    const waiting = upstreamGone();
    const first = raw('GET', `/api/v1/gateway/${vendor.up}/wait`);
    first.response.catch(() => {});
    first.request.end();
    await sleep(100);
    first.request.destroy();
    await waiting;

    const streaming = upstreamGone();
    const second = raw('GET', `/api/v1/gateway/${vendor.up}/stream`);
    second.request.end();
    const res = await second.response;
    await once(res, 'data');
    res.destroy();
    second.request.destroy();
    await streaming;
  });
});

describe('OutboundHttp.forward on its own', () => {
  it('drops hop-by-hop headers, those Connection names, Proxy-*, Host and Expect', () => {
    assert.deepEqual(
      endToEndHeaders({
        Connection: 'close, X-Named',
        'x-named': '1',
        'Keep-Alive': 'timeout=1',
        'proxy-connection': 'keep-alive',
        'Proxy-Authorization': 'x',
        te: 'trailers',
        trailer: 'x',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        host: 'warden.local',
        expect: '100-continue',
        'content-length': '5',
        accept: ['a', 'b'],
      }),
      { 'content-length': '5', accept: ['a', 'b'] },
    );
  });

  it('rejects with UpstreamFailureError at once when the caller has already gone', async () => {
    const outbound = new OutboundHttp({ allowedHosts: ['127.0.0.1'], timeoutMs: 1000, retryBaseMs: 10 });
    const destination = await outbound.destination('http://127.0.0.1:9/');
    await assert.rejects(
      outbound.forward(destination, { method: 'GET', headers: {}, timeoutMs: 1000, signal: AbortSignal.abort() }),
      UpstreamFailureError,
    );
  });

  it('cuts an answer off past maxResponseBytes', async () => {
    const server = http.createServer((_req, res) => res.end(Buffer.alloc(4096)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const outbound = new OutboundHttp({ allowedHosts: ['127.0.0.1'], timeoutMs: 1000, retryBaseMs: 10 });
      const destination = await outbound.destination(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const answer = await outbound.forward(destination, { method: 'GET', headers: {}, timeoutMs: 1000, maxResponseBytes: 1000 });
      await assert.rejects(
        (async () => {
          for await (const _ of answer.body) {
            // drain
          }
        })(),
        /exceeded 1000 bytes/,
      );
    } finally {
      server.close();
    }
  });
});

describe('the operation table reads the gateway marks', () => {
  const document = (path: string, parameters: unknown[], extra: Record<string, unknown> = {}) => ({
    paths: { [path]: { get: { operationId: 'op', parameters, responses: {}, ...extra } } },
  });
  const catchAll = { name: 'rest', in: 'path', required: true, 'x-catch-all': true, schema: { type: 'string' } };

  it('binds x-catch-all on the last segment and x-stream-body with a body of any type', () => {
    const [operation] = buildOperationTable(
      document('/g/{rest}', [catchAll], { 'x-stream-body': true, requestBody: { content: { '*/*': { schema: {} } } } }),
    );
    assert.equal(operation!.catchAll, 'rest');
    assert.equal(operation!.streamBody, true);
    assert.equal(operation!.jsonBody, undefined);
  });

  it('refuses a catch-all that is not the last segment, a non-JSON body without x-stream-body, and a malformed mark', () => {
    assert.throws(
      () => buildOperationTable(document('/g/{rest}/more', [catchAll])),
      /x-catch-all: true may mark one path parameter, the last/,
    );
    assert.throws(
      () => buildOperationTable(document('/g', [], { requestBody: { content: { '*/*': { schema: {} } } } })),
      /request bodies must be application\/json \(or the operation marked x-stream-body\)/,
    );
    assert.throws(() => buildOperationTable(document('/g', [], { 'x-stream-body': 'yes' })), /x-stream-body must be true or false/);
  });
});
