import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import publishedSpec from '../generated/openapi.json';
import { PERMISSION_CATALOG } from '../src/auth/permissions';
import { loadSpec } from '../src/binding/loaded-spec';
import type { DereferencedDocument } from '../src/binding/operation-table';
import { createOrg, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

interface Parameter {
  name: string;
  in: string;
  schema?: { pattern?: string; type?: string; additionalProperties?: unknown };
}

/**
 * Every product operation, driven from the bound spec rather than a hand-kept list, so a new
 * operation is covered the day it is added: no credential is 401, a credential without the
 * operation's x-permission is 403 naming it, and an unknown query parameter is 400.
 */
describe('access rules hold for every operation of the spec', () => {
  let warden: TestApp;
  let org: TestOrg;
  let dereferenced: DereferencedDocument;
  let readOnlyKey: string;

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise');
    ({ dereferenced } = await loadSpec(publishedSpec));
    const res = await warden.request
      .post('/api/v1/api-keys')
      .set('X-API-Key', org.key)
      .send({ name: 'org reader', permissions: ['org.read'] })
      .expect(201);
    readOnlyKey = res.body.key;
  });
  after(() => warden.close());

  /** A URL for the operation whose path parameters match their patterns (`ws_x1` for `^ws_…`). */
  function urlOf(operationId: string): string {
    const operation = warden.binding.operations.find((candidate) => candidate.operationId === operationId)!;
    const pathItem = dereferenced.paths![operation.path]! as { parameters?: Parameter[] } & Record<string, { parameters?: Parameter[] }>;
    const parameters = [...(pathItem[operation.method.toLowerCase()]!.parameters ?? []), ...(pathItem.parameters ?? [])];
    return operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const pattern = parameters.find((parameter) => parameter.in === 'path' && parameter.name === name)?.schema?.pattern ?? '';
      const prefix = /^\^\(?([a-z]+_)/.exec(pattern)?.[1] ?? '';
      return `${prefix}x1`;
    });
  }
  const product = () => warden.binding.operations.filter((operation) => operation.path.startsWith('/api/v1/'));
  /** An operation that takes whatever query its caller adds (an OIDC callback: the provider's own parameters). */
  const takesAnyQuery = (operationId: string) => {
    const operation = warden.binding.operations.find((candidate) => candidate.operationId === operationId)!;
    const parameters = (dereferenced.paths![operation.path] as Record<string, { parameters?: Parameter[] }>)[
      operation.method.toLowerCase()
    ]!.parameters;
    return (parameters ?? []).some(
      (parameter) => parameter.in === 'query' && parameter.schema?.type === 'object' && parameter.schema.additionalProperties,
    );
  };
  const call = (method: string, url: string) => warden.request[method.toLowerCase() as 'get'](url);

  it('no credential → 401 CREDENTIAL_MISSING on every secured operation, before validation', async () => {
    const secured = product().filter((operation) => operation.security.length > 0);
    assert.ok(secured.length >= 25);
    for (const operation of secured) {
      const res = await call(operation.method, urlOf(operation.operationId));
      assert.equal(res.status, 401, operation.operationId);
      assert.equal(res.body.code, 'CREDENTIAL_MISSING', operation.operationId);
    }
  });

  it('a credential without the x-permission → 403 naming it, on every operation that declares one', async () => {
    const gated = product().filter((operation) => operation.extensions.permission && operation.extensions.permission !== 'org.read');
    assert.ok(gated.length >= 25);
    for (const operation of gated) {
      const res = await call(operation.method, urlOf(operation.operationId)).set('X-API-Key', readOnlyKey);
      assert.equal(res.status, 403, operation.operationId);
      assert.equal(res.body.message, `This operation needs the '${operation.extensions.permission}' permission.`);
    }
  });

  it('an unknown query parameter → 400 INVALID_PARAMETER on every operation an org owner may call', async () => {
    const platformOnly = new Set(
      PERMISSION_CATALOG.filter((permission) => permission.scope === 'platform').map((permission) => permission.name),
    );
    const keyAccepted = (operation: { security: Array<Record<string, string[]>> }) =>
      operation.security.length === 0 || operation.security.some((requirement) => 'ApiKeyAuth' in requirement);
    for (const operation of product()) {
      if (platformOnly.has(operation.extensions.permission ?? '') || !keyAccepted(operation) || takesAnyQuery(operation.operationId)) {
        continue;
      }
      const res = await call(operation.method, `${urlOf(operation.operationId)}?unexpected=1`).set('X-API-Key', org.key);
      assert.equal(res.status, 400, `${operation.operationId}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'INVALID_PARAMETER');
    }
  });

  it('a JSON body with an unknown field → 422 naming it, on every operation that takes a body and an org owner may call', async () => {
    const platformOnly = new Set(
      PERMISSION_CATALOG.filter((permission) => permission.scope === 'platform').map((permission) => permission.name),
    );
    const withBody = product().filter(
      (operation) =>
        operation.jsonBody &&
        !platformOnly.has(operation.extensions.permission ?? '') &&
        (operation.security.length === 0 || operation.security.some((requirement) => 'ApiKeyAuth' in requirement)),
    );
    assert.ok(withBody.length >= 20);
    for (const operation of withBody) {
      const res = await call(operation.method, urlOf(operation.operationId)).set('X-API-Key', org.key).send({ unexpected_field: 1 });
      assert.equal(res.status, 422, `${operation.operationId}: ${JSON.stringify(res.body)}`);
      assert.ok(
        res.body.details.some((detail: { field: string }) => detail.field === 'unexpected_field'),
        `${operation.operationId} names the unknown field`,
      );
    }
  });
});
