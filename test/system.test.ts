import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GENERATED_DIR } from '../src/config/paths';
import { startTestApp, type TestApp } from './support/test-app';
import { openTestDatabase } from './support/test-database';
import { testMigration } from './support/test-migrations';

describe('probes, metrics and the published contract', () => {
  let warden: TestApp;
  before(async () => {
    warden = await startTestApp();
  });
  after(() => warden.close());

  it('GET /healthz answers ok', async () => {
    const res = await warden.request.get('/healthz').expect(200);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  it('HEAD /healthz answers like GET without a body', async () => {
    const res = await warden.request.head('/healthz').expect(200);
    assert.equal(res.text, undefined);
  });

  it('GET /readyz is ready when the database answers and every migration is applied', async () => {
    const res = await warden.request.get('/readyz').expect(200);
    assert.equal(res.body.status, 'ready');
    assert.equal(res.body.checks.database.status, 'ok');
    assert.equal(res.body.checks.migrations.status, 'ok');
    assert.deepEqual(res.body.checks.migrations.pending, []);
  });

  it('rejects unknown query parameters with 400 naming them', async () => {
    const res = await warden.request.get('/healthz?verbose=1').expect(400);
    assert.equal(res.body.error, 'invalid_request');
    assert.equal(res.body.code, 'INVALID_PARAMETER');
    assert.deepEqual(res.body.details, [
      { location: 'query', field: 'verbose', message: 'is not a known parameter', rule: 'additionalProperties' },
    ]);
    for (const url of ['/readyz?x=1', '/metrics?x=1', '/openapi.json?x=1', '/openapi.yaml?x=1', '/docs?x=1']) {
      await warden.request.get(url).expect(400);
    }
  });

  it('GET /metrics exposes request counts and latency by operationId and status, pool gauges and process metrics', async () => {
    await warden.request.get('/healthz').expect(200);
    await warden.request.get('/no-such-route').expect(404);
    const res = await warden.request.get('/metrics').expect(200);
    assert.match(res.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
    assert.match(res.text, /warden_http_requests_total\{operation_id="getHealth",method="GET",status="200"\} [1-9]/);
    assert.match(res.text, /warden_http_requests_total\{operation_id="unmatched",method="GET",status="404"\} 1/);
    assert.match(res.text, /warden_http_request_duration_seconds_bucket\{le="0\.005",operation_id="getHealth"/);
    assert.match(res.text, /warden_db_pool_connections\{state="max"\} [1-9]/);
    assert.match(res.text, /warden_db_pool_connections\{state="idle"\} \d/);
    assert.match(res.text, /process_resident_memory_bytes \d/);
    assert.match(res.text, /nodejs_eventloop_lag_seconds \d/);
  });

  it('GET /openapi.json serves the bundled spec from generated/', async () => {
    const res = await warden.request.get('/openapi.json').expect(200);
    assert.deepEqual(res.body, JSON.parse(readFileSync(join(GENERATED_DIR, 'openapi.json'), 'utf8')));
    assert.equal(res.body.openapi, '3.0.3');
  });

  it('GET /openapi.yaml serves the same document as YAML', async () => {
    const res = await warden.request
      .get('/openapi.yaml')
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk));
        response.on('end', () => done(null, text));
      })
      .expect(200);
    assert.equal(res.body, readFileSync(join(GENERATED_DIR, 'openapi.yaml'), 'utf8'));
    assert.match(res.headers['content-type']!, /^application\/yaml/);
  });

  it('GET /docs serves the self-contained portal, with no script loaded from another host', async () => {
    const res = await warden.request.get('/docs').expect(200);
    assert.match(res.headers['content-type']!, /^text\/html/);
    assert.match(res.text, /<title>Warden API<\/title>/);
    assert.doesNotMatch(res.text, /<script[^>]+src="https?:/);
    assert.match(res.text, /getReadiness/);
  });

  it('keeps a well-formed X-Request-Id, replaces a malformed one, and logs it with the operationId', async () => {
    const kept = await warden.request.get('/healthz').set('X-Request-Id', 'client-trace.42:abc').expect(200);
    assert.equal(kept.headers['x-request-id'], 'client-trace.42:abc');
    const replaced = await warden.request.get('/nope').set('X-Request-Id', 'bad id with spaces').expect(404);
    assert.match(replaced.headers['x-request-id']!, /^req_[0-9a-f]{32}$/);
    assert.equal(replaced.body.request_id, replaced.headers['x-request-id']);
    const line = warden.logs.find((entry) => (entry.req as { id?: string } | undefined)?.id === 'client-trace.42:abc');
    assert.ok(line, 'the request was logged under its id');
    assert.equal(line.operation_id, 'getHealth');
    assert.equal(line.level, 'info');
  });

  it('never logs credentials, and hides secret-looking query values', async () => {
    await warden.request
      .get('/healthz?token=super-secret-value')
      .set('Authorization', 'Bearer sk_live_should_not_appear')
      .set('X-API-Key', 'sk_live_should_not_appear_either')
      .expect(400);
    const text = JSON.stringify(warden.logs);
    assert.doesNotMatch(text, /sk_live_should_not_appear|super-secret-value/);
    assert.match(text, /token=%5BREDACTED%5D/);

    // A credential under any other name, in the path, or as a JWT is hidden by its shape.
    const key = 'sk_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab';
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    await warden.request.get(`/api/v1/agents/${key}?foo=${key}&authorization=x&cursor=${jwt}`).expect(401);
    await warden.request.get(`/no-such-route/${key}`).expect(404);
    const after = JSON.stringify(warden.logs);
    assert.doesNotMatch(after, /AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab|eyJzdWIiOiJ4In0/);
    assert.match(after, /authorization=%5BREDACTED%5D/);
  });

  it('answers unknown routes 404 and wrong methods 405 with Allow, in the error body', async () => {
    const missing = await warden.request.get('/api/v1/nothing-here').expect(404);
    assert.equal(missing.body.code, 'ROUTE_NOT_FOUND');
    const wrong = await warden.request.delete('/readyz').expect(405);
    assert.equal(wrong.headers.allow, 'GET, HEAD');
    assert.equal(wrong.body.error, 'method_not_allowed');
  });
});

describe('readiness when something is wrong', () => {
  const AddWidgets1700000000000 = testMigration('AddWidgets1700000000000', ['CREATE TABLE widgets (id text PRIMARY KEY)']);

  it('answers 503 naming a migration this build knows but the database has not applied', async () => {
    const database = await openTestDatabase({ migrations: [AddWidgets1700000000000], migrate: false });
    const warden = await startTestApp({ database });
    try {
      const res = await warden.request.get('/readyz').expect(503);
      assert.equal(res.body.status, 'not_ready');
      assert.equal(res.body.checks.database.status, 'ok');
      assert.equal(res.body.checks.migrations.status, 'fail');
      assert.deepEqual(res.body.checks.migrations.pending, ['AddWidgets1700000000000']);
      assert.equal(res.body.checks.migrations.error, '1 migration is not applied');

      await database.dataSource.runMigrations();
      const ready = await warden.request.get('/readyz').expect(200);
      assert.deepEqual(ready.body.checks.migrations.pending, []);
    } finally {
      await database.close();
    }
  });

  it('answers 503 with the database check failed when the database is gone, while /healthz stays 200', async () => {
    const database = await openTestDatabase();
    const warden = await startTestApp({ database });
    await database.dataSource.destroy();
    try {
      const res = await warden.request.get('/readyz').expect(503);
      assert.equal(res.body.checks.database.status, 'fail');
      assert.ok(res.body.checks.database.error.length > 0);
      assert.doesNotMatch(JSON.stringify(res.body), /\n\s+at /, 'no stack trace');
      await warden.request.get('/healthz').expect(200);
    } finally {
      await database.close();
    }
  });
});
