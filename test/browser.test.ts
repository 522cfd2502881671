import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { answerClientErrors } from '../src/errors/client-error';
import { createLogger } from '../src/logging/logger';
import { assertErrorBody } from './support/contract-checker';
import { createOrg, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

const CONSOLE = 'https://console.example.com';

describe('browser-facing defaults: nosniff, CORS, a self-contained docs page', () => {
  let warden: TestApp;
  let org: TestOrg;
  before(async () => {
    warden = await startTestApp({ config: { corsAllowedOrigins: [CONSOLE] } });
    org = await createOrg(warden);
  });
  after(() => warden.close());
  // Preflights are not operations of the spec, so they go around the contract checker.
  const preflight = (path: string, origin: string, method = 'POST') =>
    supertest(warden.app)
      .options(path)
      .set('Origin', origin)
      .set('Access-Control-Request-Method', method)
      .set('Access-Control-Request-Headers', 'x-api-key, content-type');

  it('sends X-Content-Type-Options: nosniff on successes, errors, the docs and the spec', async () => {
    for (const [url, status] of [
      ['/healthz', 200],
      ['/docs', 200],
      ['/openapi.json', 200],
      ['/openapi.yaml', 200],
      ['/favicon.ico', 200],
      ['/api/v1/auth/me', 401],
      ['/no-such-route', 404],
    ] as const) {
      const res = await warden.request.get(url).expect(status);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    }
  });

  it("answers a preflight from an allowed origin with 204, the route's methods and the headers Warden reads", async () => {
    const res = await preflight('/api/v1/users', CONSOLE).expect(204);
    assert.equal(res.headers['access-control-allow-origin'], CONSOLE);
    assert.deepEqual(res.headers['access-control-allow-methods']!.split(', '), ['GET', 'HEAD', 'POST']);
    const allowedHeaders = res.headers['access-control-allow-headers']!.toLowerCase().split(', ');
    for (const header of [
      'authorization',
      'x-api-key',
      'x-agent-secret',
      'content-type',
      'idempotency-key',
      'x-warden-device',
      'x-secu-admin-token',
    ]) {
      assert.ok(allowedHeaders.includes(header), header);
    }
    assert.match(res.headers.vary!, /Origin/);
    assert.equal(res.headers['access-control-allow-credentials'], undefined);

    const item = await preflight(`/api/v1/orgs/${org.id}/workspaces/ws_123`, CONSOLE, 'DELETE').expect(204);
    assert.ok(item.headers['access-control-allow-methods']!.split(', ').includes('DELETE'));
  });

  it('answers a preflight from any other origin without CORS headers (not 405), so the browser blocks the call', async () => {
    const res = await preflight('/api/v1/users', 'https://evil.example.net').expect(204);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(res.headers['access-control-allow-methods'], undefined);
    assert.match(res.headers.vary!, /Origin/);
    // An origin differing only in scheme or port is another origin.
    for (const origin of ['http://console.example.com', 'https://console.example.com:8443']) {
      const other = await preflight('/api/v1/users', origin).expect(204);
      assert.equal(other.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  it('a preflight for a path no operation serves is 404 in the error shape', async () => {
    const res = await preflight('/api/v1/no-such-thing', CONSOLE).expect(404);
    assertErrorBody(res.body);
  });

  it('lets an allowed origin read the answer and X-Request-Id / Retry-After, errors included', async () => {
    const ok = await warden.request.get('/api/v1/users').set('Origin', CONSOLE).set('X-API-Key', org.key).expect(200);
    assert.equal(ok.headers['access-control-allow-origin'], CONSOLE);
    assert.deepEqual(ok.headers['access-control-expose-headers']!.split(', ').sort(), [
      'RateLimit',
      'RateLimit-Policy',
      'Retry-After',
      'X-Request-Id',
    ]);
    assert.match(ok.headers.vary!, /Origin/);
    const refused = await warden.request.get('/api/v1/users').set('Origin', CONSOLE).expect(401);
    assert.equal(refused.headers['access-control-allow-origin'], CONSOLE);

    const foreign = await warden.request
      .get('/api/v1/users')
      .set('Origin', 'https://evil.example.net')
      .set('X-API-Key', org.key)
      .expect(200);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  });

  it('with CORS_ALLOWED_ORIGINS=* allows any origin, without credentials', async () => {
    const open = await startTestApp({ config: { corsAllowedOrigins: ['*'] }, database: warden.database });
    const res = await supertest(open.app)
      .options('/api/v1/users')
      .set('Origin', 'https://anywhere.example.org')
      .set('Access-Control-Request-Method', 'GET')
      .expect(204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  it('by default (no CORS_ALLOWED_ORIGINS) no origin is allowed', async () => {
    const closed = await startTestApp({ database: warden.database });
    const res = await supertest(closed.app)
      .options('/healthz')
      .set('Origin', CONSOLE)
      .set('Access-Control-Request-Method', 'GET')
      .expect(204);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  it('serves a built-in favicon, and the docs page references it and loads nothing from another host', async () => {
    const icon = await warden.request.get('/favicon.ico').buffer(true).expect(200);
    assert.equal(icon.headers['content-type'], 'image/x-icon');
    assert.deepEqual([...(icon.body as Buffer).subarray(0, 4)], [0, 0, 1, 0], 'an ICO file');

    const docs = await warden.request.get('/docs').expect(200);
    assert.match(docs.text, /<link rel="icon" href="\/favicon\.ico"/);
    // What a browser fetches by itself: src/href attributes (HTML or JSX props) and CSS url()s.
    const fetched = [
      ...docs.text.matchAll(/\bsrc\s*[=:]\s*[`"']?(https?:\/\/[^`"'\s)>]+)/g),
      ...docs.text.matchAll(/<link\b[^>]*\bhref\s*=\s*["']?(https?:\/\/[^"'\s>]+)/g),
      ...docs.text.matchAll(/url\(\s*["']?(https?:\/\/[^"')\s]+)/g),
    ].map((match) => match[1]);
    assert.deepEqual(fetched, []);
    assert.doesNotMatch(docs.text, /cdn\.redoc\.ly/);
    // Redoc's own beacon is a URL in a script string, not an attribute: it must be switched off.
    const options = /const __redoc_options = (\{.*\});/.exec(docs.text)?.[1];
    assert.equal(JSON.parse(options ?? '{}').disableTelemetry, true, 'Redoc telemetry (otel.cloud.redocly.com) is off');
  });
});

describe("requests Node's HTTP parser rejects", () => {
  let warden: TestApp;
  let server: Server;
  before(async () => {
    warden = await startTestApp();
    server = createServer(warden.app);
    answerClientErrors(server, createLogger('silent'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await warden.close();
  });

  const rawRequest = (bytes: Buffer | string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      let response = '';
      socket.on('data', (chunk) => (response += chunk));
      socket.on('end', () => resolve(response));
      socket.on('error', reject);
      socket.write(bytes);
    });

  it('a control byte in a header value gets 400 in the error shape with a request id, and the connection closes', async () => {
    const response = await rawRequest(Buffer.from('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Note: a\u0001b\r\n\r\n', 'latin1'));
    const [head, body] = response.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(head!, /\r\nConnection: close/i);
    assert.match(head!, /\r\nContent-Type: application\/json/i);
    assert.match(head!, /\r\nX-Content-Type-Options: nosniff/i);
    const error = JSON.parse(body!);
    assertErrorBody(error);
    assert.equal(error.code, 'MALFORMED_HTTP');
    assert.equal(error.error, 'invalid_request');
    assert.equal(/\r\nX-Request-Id: (\S+)/i.exec(head!)?.[1], error.request_id);
  });

  it('headers larger than Node accepts get 431 in the error shape', async () => {
    const response = await rawRequest(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const [head, body] = response.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 431 /);
    assert.equal(JSON.parse(body!).code, 'HEADERS_TOO_LARGE');
  });
});
