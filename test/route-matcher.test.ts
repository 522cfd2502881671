import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BoundOperation } from '../src/binding/operation-table';
import { RouteMatcher } from '../src/binding/route-matcher';

const operation = (method: string, path: string, operationId = `${method} ${path}`): BoundOperation => ({
  operationId,
  method,
  path,
  tags: [],
  security: [],
  extensions: {},
  arrayQueryParameters: new Map(),
  hasHeaderParameters: false,
  dateTimes: { query: [], body: [] },
  responses: new Map(),
});

describe('route matcher built once at start-up', () => {
  const matcher = new RouteMatcher([
    operation('POST', '/api/v1/agents/register'),
    operation('GET', '/api/v1/agents/{sekuire_id}/verify'),
    operation('POST', '/api/v1/agents/{id}/revoke'),
    operation('GET', '/api/v1/agents/{id}'),
    operation('GET', '/api/v1/orgs/{org_id}/workspaces/{id}'),
    operation('PUT', '/api/v1/orgs/{org_id}/workspaces/{id}'),
    operation('GET', '/healthz'),
  ]);

  it('matches static routes, and parameters by their own names', () => {
    assert.equal(matcher.match('GET', '/healthz').kind, 'operation');
    const verify = matcher.match('GET', '/api/v1/agents/abc123/verify');
    assert.ok(verify.kind === 'operation');
    assert.deepEqual(verify.params, { sekuire_id: 'abc123' });
    const revoke = matcher.match('POST', '/api/v1/agents/agt_1/revoke');
    assert.ok(revoke.kind === 'operation');
    assert.deepEqual(revoke.params, { id: 'agt_1' });
    const workspace = matcher.match('PUT', '/api/v1/orgs/org_1/workspaces/ws_2');
    assert.ok(workspace.kind === 'operation');
    assert.deepEqual(workspace.params, { org_id: 'org_1', id: 'ws_2' });
  });

  it('prefers a static segment, and falls back to the parameter branch for other methods', () => {
    const register = matcher.match('POST', '/api/v1/agents/register');
    assert.ok(register.kind === 'operation');
    assert.equal(register.operation.path, '/api/v1/agents/register');
    const agentNamedRegister = matcher.match('GET', '/api/v1/agents/register');
    assert.ok(agentNamedRegister.kind === 'operation');
    assert.deepEqual(agentNamedRegister.params, { id: 'register' });
  });

  it('ignores one trailing slash, serves HEAD from GET, and rejects empty segments', () => {
    assert.equal(matcher.match('GET', '/healthz/').kind, 'operation');
    assert.equal(matcher.match('HEAD', '/healthz').kind, 'operation');
    assert.equal(matcher.match('GET', '/api/v1/agents//verify').kind, 'not-found');
  });

  it('tells 405 (with the allowed methods) from 404', () => {
    assert.deepEqual(matcher.match('DELETE', '/api/v1/orgs/o/workspaces/w'), {
      kind: 'method-not-allowed',
      allowed: ['GET', 'HEAD', 'PUT'],
    });
    assert.deepEqual(matcher.match('GET', '/api/v1/orgs/o/workspaces'), { kind: 'not-found' });
    assert.deepEqual(matcher.match('GET', '/api/v2/healthz'), { kind: 'not-found' });
  });

  it('refuses templates it cannot serve at start-up', () => {
    assert.throws(() => new RouteMatcher([operation('GET', '/files/{name}.json')]), /must fill a whole segment/);
    assert.throws(
      () => new RouteMatcher([operation('GET', '/a/{x}', 'one'), operation('GET', '/a/{y}', 'two')]),
      /two: GET \/a\/\{y\} is already bound/,
    );
  });

  it('finds the right operation among 300', () => {
    const many = Array.from({ length: 300 }, (_, index) => operation('GET', `/api/v1/synthetic-${index}/{id}/items/{item_id}`));
    const big = new RouteMatcher(many);
    const found = big.match('GET', '/api/v1/synthetic-299/x/items/y');
    assert.ok(found.kind === 'operation');
    assert.equal(found.operation.path, '/api/v1/synthetic-299/{id}/items/{item_id}');
    assert.deepEqual(found.params, { id: 'x', item_id: 'y' });
  });

  describe('a trailing catch-all parameter (x-catch-all)', () => {
    const gateway = (method: string, operationId = `gateway ${method}`): BoundOperation => ({
      ...operation(method, '/api/v1/gateway/{vendor_id}/{path}', operationId),
      catchAll: 'path',
    });
    const catchAll = new RouteMatcher([
      gateway('GET'),
      gateway('POST'),
      operation('GET', '/api/v1/gateway/{vendor_id}/status'),
      operation('GET', '/api/v1/gateway/{vendor_id}/{section}/summary'),
    ]);
    const params = (method: string, path: string) => {
      const found = catchAll.match(method, path);
      assert.ok(found.kind === 'operation', `${method} ${path}: ${found.kind}`);
      return found.params;
    };

    it('takes one or more segments, raw: percent-escapes, dot segments and a trailing slash as sent', () => {
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/v1'), { vendor_id: 'ven_1', path: 'v1' });
      assert.deepEqual(params('POST', '/api/v1/gateway/ven_1/v1/chat/completions'), { vendor_id: 'ven_1', path: 'v1/chat/completions' });
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/a%2Fb/caf%C3%A9%20x'), { vendor_id: 'ven_1', path: 'a%2Fb/caf%C3%A9%20x' });
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/v1/../admin'), { vendor_id: 'ven_1', path: 'v1/../admin' });
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/%2e%2E/x'), { vendor_id: 'ven_1', path: '%2e%2E/x' });
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/v1/models/'), { vendor_id: 'ven_1', path: 'v1/models/' });
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/a//b'), { vendor_id: 'ven_1', path: 'a//b' });
      // A malformed escape is the vendor's to judge: the catch-all is never decoded.
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/100%'), { vendor_id: 'ven_1', path: '100%' });
    });

    it('decodes the parameters before it as usual', () => {
      assert.deepEqual(params('GET', '/api/v1/gateway/ven%5F1/x'), { vendor_id: 'ven_1', path: 'x' });
      assert.throws(() => catchAll.match('GET', '/api/v1/gateway/ven%ZZ/x'), /not valid percent-encoding/);
    });

    it('loses to a static segment and to a parameter that completes a longer template', () => {
      const status = catchAll.match('GET', '/api/v1/gateway/ven_1/status');
      assert.ok(status.kind === 'operation');
      assert.equal(status.operation.path, '/api/v1/gateway/{vendor_id}/status');
      assert.deepEqual(params('GET', '/api/v1/gateway/ven_1/billing/summary'), { vendor_id: 'ven_1', section: 'billing' });
      // The same path by POST has no static or longer match: the catch-all takes it.
      assert.deepEqual(params('POST', '/api/v1/gateway/ven_1/status'), { vendor_id: 'ven_1', path: 'status' });
      assert.deepEqual(params('POST', '/api/v1/gateway/ven_1/billing/summary'), { vendor_id: 'ven_1', path: 'billing/summary' });
    });

    it('needs at least one segment, and answers 405 with its methods', () => {
      assert.deepEqual(catchAll.match('GET', '/api/v1/gateway/ven_1'), { kind: 'not-found' });
      assert.deepEqual(catchAll.match('GET', '/api/v1/gateway/ven_1/'), { kind: 'not-found' });
      assert.deepEqual(catchAll.match('GET', '/api/v1/gateway/ven_1//x'), { kind: 'not-found' });
      assert.deepEqual(catchAll.match('DELETE', '/api/v1/gateway/ven_1/a/b'), {
        kind: 'method-not-allowed',
        allowed: ['GET', 'HEAD', 'POST'],
      });
      assert.equal(catchAll.match('HEAD', '/api/v1/gateway/ven_1/a').kind, 'operation');
    });
  });
});
