import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import publishedSpec from '../generated/openapi.json';
import { loadSpec } from '../src/binding/loaded-spec';
import { type Database, openDatabase } from '../src/db/database';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { assertErrorBody } from './support/contract-checker';
import { createOrg, type TestOrg } from './support/identity';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type TestApp } from './support/test-app';
import { openTestDatabase, serverUrl, type TestDatabase } from './support/test-database';

interface OperationObject {
  operationId: string;
  security?: unknown[];
  requestBody?: { content?: Record<string, { example?: unknown; examples?: Record<string, { value?: unknown }> }> };
  responses: Record<string, unknown>;
}

/**
 * Warden's database goes away behind a TCP proxy (new connections refused, open ones cut) while
 * the app keeps running, then comes back. On the embedded database the proxy sits in front of
 * PGlite's socket server, exactly as a real server's.
 */
describe('a database outage', () => {
  let warden: TestApp;
  let org: TestOrg;
  let proxy: TcpProxy;
  let upstream: TestDatabase | undefined;
  let embedded: EmbeddedPostgres | undefined;
  let database: Database;

  before(async () => {
    let url: string;
    if (serverUrl) {
      upstream = await openTestDatabase();
      url = serverUrl;
    } else {
      embedded = await startEmbeddedPostgres(undefined);
      url = embedded.url;
    }
    const target = new URL(url);
    proxy = new TcpProxy(embedded ? { path: embedded.socketPath } : { host: target.hostname, port: Number(target.port || 5432) });
    await proxy.open();
    database = await openDatabase(
      { kind: 'server', url: proxy.rewrite(url), poolSize: embedded ? 1 : 4, schema: upstream?.schema, connectTimeoutMs: 1000 },
      // The upstream test database is migrated already; PGlite takes one session, so it migrates through this pool.
      { migrate: false },
    );
    if (embedded) await database.dataSource.runMigrations({ transaction: 'each' });
    warden = await startTestApp({ database });
    org = await createOrg(warden);
  });
  after(async () => {
    await proxy.open();
    await database.close();
    await upstream?.close();
    await embedded?.stop();
    await proxy.close();
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After on every database-backed operation, promptly; /readyz 503; back to normal once the database returns, without a restart', async () => {
    await warden.request.get('/api/v1/auth/me').set('X-API-Key', org.key).expect(200);
    await proxy.close();

    const started = Date.now();
    const down = await warden.request.get('/api/v1/auth/me').set('X-API-Key', org.key).expect(503);
    assert.ok(Date.now() - started < 5000, 'no request waits long on a dead database');
    assertErrorBody(down.body);
    assert.equal(down.body.error, 'service_unavailable');
    assert.equal(down.body.code, 'DATABASE_UNAVAILABLE');
    assert.ok(Number(down.headers['retry-after']) >= 1);
    assert.ok(warden.logs.some((line) => line.msg === 'database unavailable'));
    assert.ok(!warden.logs.some((line) => line.msg === 'unhandled error'), 'an outage is not logged as a bug');

    const ready = await warden.request.get('/readyz').expect(503);
    assert.equal(ready.body.checks.database.status, 'fail');

    // Every operation that documents 503, with its documented example body: none answers 500.
    const { dereferenced } = await loadSpec(publishedSpec);
    const paths = (dereferenced as unknown as { paths: Record<string, Record<string, OperationObject>> }).paths;
    const answers: string[] = [];
    for (const [template, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (typeof operation !== 'object' || !operation.operationId || !('503' in operation.responses)) continue;
        // Readiness answers its own 503 body, checked above.
        if (operation.operationId === 'getReadiness') continue;
        const path = template.replace(/\{([^}]+)\}/g, (_, name: string) =>
          name === 'org_id' ? org.id : `${name.replace(/_id$/, '')}_0123456789abcdefghijklmnop`,
        );
        const content = operation.requestBody?.content?.['application/json'];
        const body = content?.example ?? Object.values(content?.examples ?? {})[0]?.value;
        let request = warden.request[method as 'get'](path).set('X-API-Key', org.key);
        if (body !== undefined) request = request.send(body as object);
        const res = await request;
        // Agent, install and runtime credentials are refused by their checksum before any lookup,
        // so with an API key only the operations that take one reach the database.
        const takesApiKey = (operation.security ?? [{ ApiKeyAuth: [] }]).some((scheme) => 'ApiKeyAuth' in (scheme as object));
        // An integration this test leaves unconfigured (Stripe) answers its own 503 before any lookup.
        if (res.status === 503 && res.body.code?.endsWith('_NOT_CONFIGURED')) continue;
        if (res.status === 503) assert.equal(res.body.code, 'DATABASE_UNAVAILABLE', operation.operationId);
        else if (takesApiKey || res.status >= 500)
          answers.push(`${operation.operationId} ${method.toUpperCase()} ${path} → ${res.status} ${res.body?.code ?? ''}`);
      }
    }
    assert.deepEqual(answers, [], 'operations that did not answer 503');

    await proxy.open();
    await warden.request.get('/api/v1/auth/me').set('X-API-Key', org.key).expect(200);
    await warden.request.get('/readyz').expect(200);
  });
});
