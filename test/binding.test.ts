import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { HandlerRegistryError } from '../src/binding/binding';
import type { AnyHandler, RuntimeContext } from '../src/binding/handler-types';
import { OperationTableError } from '../src/binding/operation-table';
import { GENERATED_DIR } from '../src/config/paths';
import { handlers as wardenHandlers } from '../src/modules';
import { startTestApp, type TestApp } from './support/test-app';
import { openTestDatabase, type TestDatabase } from './support/test-database';

const fixture = join(__dirname, 'fixtures/binding-fixture.yaml');
let lastContext: RuntimeContext<unknown> | undefined;
const capture = (result: (context: RuntimeContext<unknown>) => unknown): AnyHandler =>
  ((context: RuntimeContext<unknown>) => {
    lastContext = context;
    return result(context);
  }) as AnyHandler;

const fixtureHandlers: Record<string, AnyHandler> = {
  listWidgets: capture(() => ({ status: 200, body: { widgets: [], has_more: false, next_cursor: null } })),
  createWidget: capture(({ body }) => ({ status: 201, body: { id: 'wid_1', ...(body as object) } })),
  searchWidgets: capture(() => ({ status: 200, body: { route: 'search' } })),
  getWidget: capture(({ params }) => {
    if (params.widget_id === 'wid_boom') throw new Error('connect ECONNREFUSED password=hunter2');
    if (params.widget_id === 'wid_badshape') return { status: 200, body: { id: 42 } };
    return { status: 200, body: { id: params.widget_id, name: 'gear', size: 3 } };
  }),
  deleteWidget: capture(() => ({ status: 204 })),
  listThingParts: capture(({ params }) => ({ status: 200, body: { thing_name: params.thing_name } })),
};

describe('binding layer: requests are validated against the spec before a handler runs', () => {
  let warden: TestApp;
  before(async () => {
    warden = await startTestApp({
      definition: fixture,
      handlers: fixtureHandlers,
      config: { bodyLimitBytes: 2048, validateResponses: true },
    });
  });
  after(() => warden.close());
  const post = (body: string, contentType = 'application/json') =>
    warden.request.post('/widgets').set('Content-Type', contentType).send(body);

  it('passes a valid body to the handler and answers with the documented status', async () => {
    const res = await warden.request.post('/widgets').send({ name: 'gear', size: 3, colour: 'red' }).expect(201);
    assert.deepEqual(res.body, { id: 'wid_1', name: 'gear', size: 3, colour: 'red' });
    assert.deepEqual(lastContext?.body, { name: 'gear', size: 3, colour: 'red' });
    assert.equal(lastContext?.operationId, 'createWidget');
    assert.equal(lastContext?.requestId, res.headers['x-request-id']);
  });

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    const res = await post('{"name": "gear", ').expect(400);
    assert.equal(res.body.error, 'invalid_request');
    assert.equal(res.body.code, 'MALFORMED_JSON');
  });

  it('a JSON scalar or array where an object is required → 400 or 422, never a handler call', async () => {
    lastContext = undefined;
    await post('"just a string"').expect(400);
    const res = await post('[1,2]').expect(422);
    assert.equal(res.body.details[0].rule, 'type');
    assert.equal(lastContext, undefined);
  });

  it('wrong content type → 415, and the handler never runs', async () => {
    lastContext = undefined;
    const res = await post('name=gear&size=3', 'application/x-www-form-urlencoded').expect(415);
    assert.equal(res.body.error, 'unsupported_media_type');
    assert.match(res.body.message, /application\/x-www-form-urlencoded/);
    await post('{"name":"gear","size":3}', 'text/plain').expect(415);
    assert.equal(lastContext, undefined);
  });

  it('a non-UTF-8 charset → 415, UTF-16 and UTF-32 included (JSON is UTF-8)', async () => {
    for (const charset of ['latin1', 'utf-16', 'UTF-32', '"utf-16le"']) {
      const res = await post('{"name":"gear","size":3}', `application/json; charset=${charset}`).expect(415);
      assert.equal(res.body.code, 'UNSUPPORTED_CHARSET');
    }
    await post('{"name":"gear","size":3}', 'application/json; charset=UTF-8').expect(201);
  });

  it('a body that is not valid UTF-8 → 400, never stored with replacement characters', async () => {
    lastContext = undefined;
    const res = await warden.request
      .post('/widgets')
      .set('Content-Type', 'application/json')
      // Sent as the bytes they are, not re-serialised as JSON.
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","size":3}')]))
      .expect(400);
    assert.equal(res.body.code, 'MALFORMED_JSON');
    assert.equal(lastContext, undefined);
  });

  it('a body that is not what its Content-Encoding says → 400 MALFORMED_CONTENT_ENCODING, never a 500', async () => {
    lastContext = undefined;
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await warden.request
        .post('/widgets')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send('{"name":"gear","size":3}');
      assert.equal(res.status, 400, encoding);
      assert.equal(res.body.code, 'MALFORMED_CONTENT_ENCODING');
      assert.ok(res.body.request_id);
    }
    assert.equal(lastContext, undefined, 'the handler never ran');
  });

  it('oversized body → 413 with the limit in the message', async () => {
    const res = await post(JSON.stringify({ name: 'x'.repeat(4000), size: 1 })).expect(413);
    assert.equal(res.body.error, 'payload_too_large');
    assert.match(res.body.message, /2048-byte limit/);
  });

  it('a body read as sent: gzip inflated and screened, a BOM skipped, a chunked body over the limit 413, a short one 400', async () => {
    const gzipped = gzipSync('{"name":"ge\\u0000ar","size":3}');
    const screened = await warden.request
      .post('/widgets')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(gzipped);
    assert.equal(screened.status, 422, 'a NUL escaped inside a compressed body is found too');
    assert.equal(screened.body.details[0].rule, 'storable');
    await warden.request
      .post('/widgets')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(gzipSync('{"name":"gear","size":3}'))
      .expect(201);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"gear","size":3}')]);
    await warden.request
      .post('/widgets')
      .set('Content-Type', 'application/json')
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(bom)
      .expect(201);
    const server = warden.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    after(() => server.close());
    const { port } = server.address() as AddressInfo;
    const chunked = await rawExchange(
      port,
      `POST /widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${(3000).toString(16)}\r\n${'x'.repeat(3000)}\r\n0\r\n\r\n`,
    );
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    assert.match(chunked, /PAYLOAD_TOO_LARGE/);
    const short = await rawExchange(
      port,
      `POST /widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"gear"`,
      true,
    );
    assert.doesNotMatch(short, /^HTTP\/1\.1 2/, 'a body cut short never reaches the handler');
  });

  it('unknown fields → 422 naming each, at any depth', async () => {
    const res = await warden.request
      .post('/widgets')
      .send({ name: 'gear', size: 3, weight: 9, parts: [{ sku: 'sku_1', extra: true }] })
      .expect(422);
    assert.equal(res.body.error, 'validation_failed');
    assert.equal(res.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(res.body.details.map((detail: { field: string; message: string }) => [detail.field, detail.message]).sort(), [
      ['parts/0/extra', 'is not a known field'],
      ['weight', 'is not a known field'],
    ]);
  });

  it('wrong types, formats, enums, patterns and lengths → 422 with one detail per field', async () => {
    const res = await warden.request
      .post('/widgets')
      .send({ name: '', size: 'three', colour: 'blue', owner_email: 'not-an-email', parts: [{ sku: 'SKU-1' }] })
      .expect(422);
    const byField = Object.fromEntries(res.body.details.map((detail: { field: string; rule: string }) => [detail.field, detail.rule]));
    assert.deepEqual(byField, {
      name: 'minLength',
      size: 'type',
      colour: 'enum',
      owner_email: 'format',
      'parts/0/sku': 'pattern',
    });
    assert.ok(res.body.details.every((detail: { location: string }) => detail.location === 'body'));
    assert.match(res.body.message, /5 problems/);
  });

  it('missing required fields → 422 naming them', async () => {
    const res = await warden.request.post('/widgets').send({ colour: 'red' }).expect(422);
    assert.deepEqual(res.body.details.map((detail: { field: string; rule: string }) => `${detail.field}:${detail.rule}`).sort(), [
      'name:required',
      'size:required',
    ]);
  });

  it('a missing body where one is required → 422 BODY_REQUIRED', async () => {
    const res = await warden.request.post('/widgets').expect(422);
    assert.equal(res.body.code, 'BODY_REQUIRED');
    assert.deepEqual(res.body.details, [{ location: 'body', field: '', message: 'is required', rule: 'required' }]);
  });

  it('coerces query parameters to their schema types and applies defaults', async () => {
    await warden.request.get('/widgets?limit=20&tag=a&ids=x,y,z').expect(200);
    assert.deepEqual(lastContext?.query, { limit: 20, tag: ['a'], ids: ['x', 'y', 'z'] });
    await warden.request.get('/widgets?tag=a&tag=b').expect(200);
    assert.deepEqual(lastContext?.query, { limit: 50, tag: ['a', 'b'] });
  });

  it('out-of-range, mistyped and unknown query parameters → 400 naming each', async () => {
    const tooBig = await warden.request.get('/widgets?limit=500').expect(400);
    assert.equal(tooBig.body.code, 'INVALID_PARAMETER');
    assert.deepEqual(tooBig.body.details, [{ location: 'query', field: 'limit', message: 'must be <= 200', rule: 'maximum' }]);
    const mistyped = await warden.request.get('/widgets?limit=ten').expect(400);
    assert.equal(mistyped.body.details[0].rule, 'type');
    const unknown = await warden.request.get('/widgets?colour=red').expect(400);
    assert.equal(unknown.body.details[0].field, 'colour');
    const empty = await warden.request.get('/widgets?cursor=').expect(400);
    assert.equal(empty.body.details[0].rule, 'minLength');
  });

  it('path parameters are decoded and validated (400 when they fail their pattern)', async () => {
    const ok = await warden.request.get('/widgets/wid_Ab12').expect(200);
    assert.equal(ok.body.id, 'wid_Ab12');
    const bad = await warden.request.get('/widgets/nope').expect(400);
    assert.deepEqual(bad.body.details[0], {
      location: 'path',
      field: 'widget_id',
      message: 'must match pattern "^wid_[A-Za-z0-9]{4,32}$"',
      rule: 'pattern',
    });
    const encoded = await warden.request.get('/things/a%2Fb%20c/parts').expect(200);
    assert.equal(encoded.body.thing_name, 'a/b c');
    const malformed = await warden.request.get('/things/%E0%A4%A/parts').expect(400);
    assert.equal(malformed.body.code, 'MALFORMED_PATH');
  });

  it('a static segment wins over a parameter; different parameter names may share a position', async () => {
    const res = await warden.request.get('/widgets/search').expect(200);
    assert.deepEqual(res.body, { route: 'search' });
    await warden.request.get('/things/bolt/parts').expect(200);
    await warden.request.get('/widgets/').expect(200);
  });

  it('unknown route → 404, wrong method → 405 with Allow', async () => {
    const missing = await warden.request.get('/widgets/wid_Ab12/colour').expect(404);
    assert.equal(missing.body.code, 'ROUTE_NOT_FOUND');
    const wrong = await warden.request.patch('/widgets/wid_Ab12').send({}).expect(405);
    assert.equal(wrong.headers.allow, 'DELETE, GET, HEAD');
    assert.equal(wrong.body.code, 'METHOD_NOT_ALLOWED');
  });

  it('an operation with security requirements refuses a bad credential with 401 before its handler runs', async () => {
    lastContext = undefined;
    const res = await warden.request.delete('/widgets/wid_Ab12').set('X-API-Key', 'anything').expect(401);
    assert.equal(res.body.error, 'unauthorized');
    assert.equal(res.body.code, 'CREDENTIAL_MALFORMED');
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.equal(lastContext, undefined);
  });

  it('an unexpected handler error → 500 without stack trace or internal message, logged without the stack', async () => {
    const res = await warden.request.get('/widgets/wid_boom').expect(500);
    assert.equal(res.body.error, 'internal_error');
    assert.equal(res.body.code, 'INTERNAL_ERROR');
    assert.doesNotMatch(res.text, /hunter2|ECONNREFUSED|\bat .*\.ts:\d+/);
    const errorLine = warden.logs.find((line) => line.msg === 'unhandled error');
    assert.ok(errorLine);
    assert.equal(errorLine.level, 'error');
    assert.equal(errorLine.stack, undefined, 'the error-level line carries no stack');
  });

  it('with response validation on, a handler answering off-spec becomes a logged 500', async () => {
    const res = await warden.request.get('/widgets/wid_badshape').expect(500);
    assert.equal(res.body.code, 'INTERNAL_ERROR');
    assert.ok(warden.logs.some((line) => line.msg === 'response does not match the spec'));
  });

  it('reads the vendor extensions of each operation into the operation table at start-up', () => {
    const create = warden.binding.operations.find((operation) => operation.operationId === 'createWidget')!;
    assert.deepEqual(create.extensions, { audit: 'widget.created', rateLimit: 'login' });
    const remove = warden.binding.operations.find((operation) => operation.operationId === 'deleteWidget')!;
    assert.deepEqual(remove.extensions, { permission: 'workspace.delete', planFeature: 'fleet_ops' });
    assert.deepEqual(remove.security, [{ ApiKeyAuth: [] }]);
    const list = warden.binding.operations.find((operation) => operation.operationId === 'listWidgets')!;
    assert.deepEqual(list.extensions, {});
    assert.deepEqual(list.security, []);
  });
});

describe('binding layer: start-up refuses a spec and handlers that disagree', () => {
  let database: TestDatabase;
  before(async () => {
    database = await openTestDatabase();
  });
  after(() => database.close());
  const spec = () => JSON.parse(readFileSync(join(GENERATED_DIR, 'openapi.json'), 'utf8'));

  it('an operation added to the spec without a handler stops start-up, naming it', async () => {
    const withNewOperation = spec();
    withNewOperation.paths['/api/v1/widgets'] = {
      get: { operationId: 'listWidgets', summary: 'x', responses: { '200': { description: 'ok' } } },
    };
    await assert.rejects(startTestApp({ database, definition: withNewOperation }), (error: unknown) => {
      assert.ok(error instanceof HandlerRegistryError);
      assert.deepEqual(error.missing, ['listWidgets']);
      assert.match(error.message, /operation listWidgets has no handler/);
      return true;
    });
  });

  it('a handler without an operation stops start-up, naming it', async () => {
    const handlers = { ...wardenHandlers, archiveWidget: (() => ({ status: 200 })) as AnyHandler };
    await assert.rejects(startTestApp({ database, handlers }), /handler archiveWidget has no operation in the spec/);
  });

  it('a malformed vendor extension stops start-up, naming the operation', async () => {
    const malformed = spec();
    malformed.paths['/healthz'].get['x-permission'] = 'Not A Permission';
    malformed.paths['/readyz'].get['x-rate-limit'] = 7;
    await assert.rejects(startTestApp({ database, definition: malformed }), (error: unknown) => {
      assert.ok(error instanceof OperationTableError);
      assert.match(error.message, /getHealth: x-permission must be a string like "workspace.write"/);
      assert.match(error.message, /getReadiness: x-rate-limit must be a string/);
      return true;
    });
  });
});

/** One request written as raw bytes; the answer as text (empty when the server only closed). */
function rawExchange(port: number, request: string, halfClose = false): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(request);
      if (halfClose) socket.end();
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      answer += chunk;
      if (/\r\n\r\n/.test(answer) && !halfClose) socket.end();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}
