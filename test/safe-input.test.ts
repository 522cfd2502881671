import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type supertest from 'supertest';
import publishedSpec from '../generated/openapi.json';
import { loadSpec } from '../src/binding/loaded-spec';
import { scanJsonText, unstorableString } from '../src/binding/safe-input';
import { assertErrorBody } from './support/contract-checker';
import { createOrg, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

interface Parameter {
  name: string;
  in: string;
  schema?: { type?: string; items?: { type?: string } };
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { example?: unknown; examples?: Record<string, { value?: unknown }> }> };
}

const UNSTORABLE = { nul: 'a\u0000b', 'lone surrogate': 'a\ud800b' };

describe('strings Postgres cannot store, deep JSON and far date-time offsets never reach the database', () => {
  let warden: TestApp;
  let org: TestOrg;
  let operations: Array<{ method: string; template: string; operation: Operation; parameters: Parameter[] }>;
  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden);
    const { dereferenced } = await loadSpec(publishedSpec);
    const paths = (dereferenced as unknown as { paths: Record<string, Record<string, Operation> & { parameters?: Parameter[] }> }).paths;
    operations = Object.entries(paths).flatMap(([template, item]) =>
      Object.entries(item)
        .filter(([, operation]) => typeof operation === 'object' && operation !== null && 'operationId' in operation)
        .map(([method, operation]) => ({
          method,
          template,
          operation: operation as Operation,
          parameters: [...((operation as Operation).parameters ?? []), ...(item.parameters ?? [])],
        })),
    );
  });
  after(() => warden.close());

  const fill = (template: string, values: Record<string, string> = {}) =>
    template.replace(
      /\{([^}]+)\}/g,
      (_, name: string) => values[name] ?? (name === 'org_id' ? org.id : `${name.replace(/_id$/, '')}_0123456789abcdefghijklmnop`),
    );
  const call = (method: string, url: string) => warden.request[method as 'get'](url).set('X-API-Key', org.key);
  const failures: string[] = [];
  /** No 5xx, and a 400/422 names the field in its details. */
  const judge = (what: string, res: supertest.Response, location: string, field: string) => {
    if (res.status >= 500) failures.push(`${what} → ${res.status}`);
    else if ([400, 422].includes(res.status)) {
      assertErrorBody(res.body);
      const named = (res.body.details ?? []).some(
        (detail: { location: string; field: string }) => detail.location === location && detail.field.startsWith(field),
      );
      if (!named) failures.push(`${what} → ${res.status} without naming ${location} ${field}: ${JSON.stringify(res.body)}`);
    }
  };

  it('every operation refuses a NUL or lone surrogate in each path, query and body string with 400/422 naming it', async () => {
    let refusedNamingField = 0;
    for (const { method, template, operation, parameters } of operations) {
      for (const parameter of parameters.filter((p) => p.in === 'path' || p.in === 'query')) {
        const url = parameter.in === 'path' ? fill(template, { [parameter.name]: 'a%00b' }) : `${fill(template)}?${parameter.name}=a%00b`;
        const res = await call(method, url);
        judge(`${operation.operationId} ${parameter.in} ${parameter.name}`, res, parameter.in, parameter.name);
        if (res.status === 400) refusedNamingField++;
      }
      // A raw body the handler reads itself (a Stripe webhook checked against its signature) is no field's.
      if ((operation as unknown as Record<string, unknown>)['x-stream-body']) continue;
      const content = operation.requestBody?.content?.['application/json'];
      const example = (content?.example ?? Object.values(content?.examples ?? {})[0]?.value) as Record<string, unknown> | undefined;
      if (!example || typeof example !== 'object') continue;
      for (const [field, value] of Object.entries(example)) {
        for (const [kind, bad] of Object.entries(UNSTORABLE)) {
          const poisoned =
            typeof value === 'string'
              ? bad
              : typeof value === 'object' && value !== null && !Array.isArray(value)
                ? { [bad]: 'x', ok: bad }
                : undefined;
          if (poisoned === undefined) continue;
          const res = await call(method, fill(template)).send({ ...example, [field]: poisoned });
          judge(`${operation.operationId} body ${field} (${kind})`, res, 'body', field);
          if (res.status === 422) refusedNamingField++;
        }
      }
      if (method !== 'get') {
        const res = await call(method, fill(template)).send({ ...example, 'key\u0000': 1 });
        judge(`${operation.operationId} body key`, res, 'body', 'key');
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(refusedNamingField > 50, `refusals naming the field: ${refusedNamingField}`);
  });

  it('a workspace name with a NUL is 422 naming the field, and nothing is stored', async () => {
    const res = await call('post', `/api/v1/orgs/${org.id}/workspaces`).send({ name: 'ops\u0000', description: 'x\ud800' }).expect(422);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(res.body.details, [
      {
        location: 'body',
        field: 'name',
        message: 'is not storable text: it contains a NUL character or an unpaired UTF-16 surrogate',
        rule: 'storable',
      },
    ]);
    const list = await call('get', `/api/v1/orgs/${org.id}/workspaces`).expect(200);
    assert.ok(!JSON.stringify(list.body).includes('ops'));
  });

  it('a number JSON reads as Infinity (1e400) is 422 naming the field, wherever it sits; 1e308 is a number like any other', async () => {
    const signup = (budget: string) =>
      warden.request
        .post('/api/v1/auth/signup')
        .set('Content-Type', 'application/json')
        .send(`{"org_name":"Huge","email":"huge@example.com","password":"correct horse battery","daily_budget_usd":${budget}}`);
    for (const budget of ['1e400', '-1E+999', `1${'0'.repeat(400)}`]) {
      const res = await signup(budget).expect(422);
      assert.deepEqual(res.body.details, [
        {
          location: 'body',
          field: 'daily_budget_usd',
          message: 'is a number beyond what a double or jsonb can hold (±1.8e308)',
          rule: 'storable',
        },
      ]);
    }
    // At any depth, and only when the text could hold one.
    assert.equal(unstorableString({ a: [1, { b: Number.NEGATIVE_INFINITY }] }, 'body')?.field, 'a/1/b');
    const screened = (text: string) => scanJsonText(Buffer.from(text), 64, () => new Error('deep')).mayHoldUnstorable;
    for (const text of ['{"a":[1,{"b":1e400}]}', '{"a":-1E+999}', `[${'9'.repeat(300)}]`, '{"k\\u0000":1}', '["\\ud800"]']) {
      assert.ok(screened(text), text);
    }
    for (const text of ['{"a":[1,{"b":1e30}],"c":"1e400 \\\\u"}', `[0.${'9'.repeat(400)}]`, '{"e123":"\\n"}']) {
      assert.ok(!screened(text), text);
    }
    // 1e308 is a storable number: refused, if at all, by the field's own maximum, never as unstorable.
    const large = await signup('1e308');
    assert.ok(!(large.body.details ?? []).some((detail: { rule: string }) => detail.rule === 'storable'), JSON.stringify(large.body));
  });

  it('audit exports with actor=%00 answer 400 instead of resetting the connection', async () => {
    for (const path of ['/api/v1/audit/export.csv', '/api/v1/audit/export.jsonl', '/api/v1/audit-events']) {
      const res = await call('get', `${path}?actor=%00`).expect(400);
      assert.equal(res.body.details[0].field, 'actor');
    }
  });

  it('JSON nested 10,000 deep is 400 JSON_TOO_DEEP in the error shape', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const res = await call('post', `/api/v1/orgs/${org.id}/workspaces`).set('Content-Type', 'application/json').send(deep).expect(400);
    assert.equal(res.body.code, 'JSON_TOO_DEEP');
    const nestedObjects = `{"name":"w","description":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    await call('post', `/api/v1/orgs/${org.id}/workspaces`).set('Content-Type', 'application/json').send(nestedObjects).expect(400);
    // Brackets inside strings are text, not nesting.
    await call('post', `/api/v1/orgs/${org.id}/workspaces`)
      .send({ name: 'brackets', description: '['.repeat(500) })
      .expect(201);
  });

  it('date-times with offsets RFC 3339 allows but Postgres does not are stored in UTC; impossible instants are 400/422', async () => {
    const since = await call('get', `/api/v1/audit-events?since=${encodeURIComponent('2026-01-01T00:00:00+23:59')}`);
    assert.equal(since.status, 200);
    const far = await call('get', `/api/v1/audit-events?since=${encodeURIComponent('0000-01-01T00:00:00Z')}`).expect(400);
    assert.equal(far.body.details[0].field, 'since');
    // The whole documented range: year 1 is year 1 (not 1901, as Date.UTC would read it).
    for (const edge of ['0001-01-01T00:00:00Z', '1900-12-31T23:59:59Z', '9999-12-31T23:59:59.999Z']) {
      await call('get', `/api/v1/audit-events?since=${encodeURIComponent(edge)}`).expect(200);
    }
  });
});
