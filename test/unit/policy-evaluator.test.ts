import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionMatches,
  canonicalPath,
  type EffectivePolicy,
  evaluatePolicies,
  type GovernedCall,
  type PolicyRules,
} from '../../src/modules/policies';

const OPEN: PolicyRules = {
  allowed_actions: [],
  denied_path_prefixes: [],
  max_cost_per_request_micros: null,
  require_approval: false,
  approval_min_cost_micros: null,
  approval_actions: [],
};

let serial = 0;
const policy = (rules: Partial<PolicyRules> = {}, version = 1): EffectivePolicy => ({
  id: `pol_${++serial}`,
  version,
  name: `policy ${serial}`,
  rules: { ...OPEN, ...rules },
});

const call = (over: Partial<GovernedCall> = {}): GovernedCall => ({
  action: 'chat.send',
  method: 'POST',
  path: '/v1/chat',
  costMicros: 100_000,
  ...over,
});

describe('canonicalPath: the path as an upstream would read it, or null when ambiguous', () => {
  const CASES: Array<[string, string | null]> = [
    ['/', '/'],
    ['/admin', '/admin'],
    ['/admin/', '/admin/'],
    ['//admin', '/admin'],
    ['///admin//x', '/admin/x'],
    ['/./admin', '/admin'],
    ['/x/../admin', '/admin'],
    ['/x/y/../../admin', '/admin'],
    ['/../admin', '/admin'],
    ['/../../..', '/'],
    ['/admin/.', '/admin/'],
    ['/admin/x/..', '/admin/'],
    ['/%61dmin', '/admin'],
    ['/%2e%2e/admin', '/admin'],
    ['/x/%2E%2E/admin', '/admin'],
    ['/%2e/admin', '/admin'],
    ['/caf%C3%A9', '/café'],
    ['/v1/chat?x=/admin', '/v1/chat'],
    ['/admin%2fx', null],
    ['/admin%2Fx', null],
    ['/%252fadmin', null],
    ['/%2561dmin', null],
    ['/admin%00', null],
    ['/admin\u0000', null],
    ['/admin%0a', null],
    ['/admin\\x', null],
    ['/admin%5cx', null],
    ['/admin%5Cx', null],
    ['/admin%3fx', null],
    ['/admin%23x', null],
    ['/admin%', null],
    ['/admin%4', null],
    ['/admin%zz', null],
    ['/%C3', null],
    ['/%C0%AFadmin', null],
    ['admin', null],
    ['', null],
    ['http://evil/admin', null],
  ];
  for (const [raw, expected] of CASES) {
    it(`${JSON.stringify(raw)} → ${JSON.stringify(expected)}`, () => assert.equal(canonicalPath(raw), expected));
  }
});

describe('actionMatches: exact (ignoring case) or `*` glob', () => {
  const CASES: Array<[string, string, boolean]> = [
    ['chat.send', 'chat.send', true],
    ['chat.send', 'CHAT.Send', true],
    ['chat.send', 'chat.sen', false],
    ['chat.send', 'chat.sendx', false],
    ['chat.*', 'chat.send', true],
    ['chat.*', 'chat.', true],
    ['chat.*', 'chat', false],
    ['chat.*', 'chatx.send', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['*.send', 'chat.send', true],
    ['*.send', 'chat.sending', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['a*b*c', 'acb', false],
    ['**', 'x', true],
    ['POST /v1/*', 'POST /v1/chat/completions', true],
    ['POST /v1/*', 'GET /v1/chat', false],
    ['chat.?', 'chat.x', false],
    ['chat.[a]', 'chat.a', false],
    ['chat.[a]', 'chat.[a]', true],
  ];
  for (const [pattern, action, expected] of CASES) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(action)}`, () =>
      assert.equal(actionMatches(pattern, action), expected));
  }

  it('stays fast on a hostile pattern (no exponential backtracking)', () => {
    const started = performance.now();
    assert.equal(actionMatches(`${'*a'.repeat(50)}b`, 'a'.repeat(200)), false);
    assert.ok(performance.now() - started < 200);
  });
});

describe('evaluatePolicies', () => {
  it('denies by default: no policy → no_policy, naming none', () => {
    assert.deepEqual(evaluatePolicies([], call()), { outcome: 'deny', policyId: null, policyVersion: null, denyReason: 'no_policy' });
  });

  it('allows under the first policy when none denies or asks for approval, with its id and version', () => {
    const first = policy({}, 3);
    const second = policy();
    assert.deepEqual(evaluatePolicies([first, second], call()), {
      outcome: 'allow',
      policyId: first.id,
      policyVersion: 3,
      denyReason: null,
    });
  });

  it('action_not_allowed when allowed_actions is not empty and none matches; empty allows every action', () => {
    const p = policy({ allowed_actions: ['chat.*', 'search'] });
    assert.equal(evaluatePolicies([p], call({ action: 'chat.send' })).outcome, 'allow');
    assert.equal(evaluatePolicies([p], call({ action: 'SEARCH' })).outcome, 'allow');
    assert.deepEqual(evaluatePolicies([p], call({ action: 'files.delete' })), {
      outcome: 'deny',
      policyId: p.id,
      policyVersion: 1,
      denyReason: 'action_not_allowed',
    });
    assert.equal(evaluatePolicies([policy()], call({ action: 'files.delete' })).outcome, 'allow');
  });

  it('path_denied on segment boundaries, after canonicalisation, ignoring case and ;parameters', () => {
    const p = policy({ denied_path_prefixes: ['/admin'] });
    const denied = [
      '/admin',
      '/admin/',
      '/admin/x',
      '//admin',
      '/./admin',
      '/x/../admin',
      '/%61dmin',
      '/%2e%2e/admin',
      '/ADMIN',
      '/Admin/Users',
      '/admin;jsessionid=1',
      '/admin;x/users',
      '/x/..;/admin',
      '/;x/admin',
      '/admin?debug=1',
    ];
    for (const path of denied) assert.equal(evaluatePolicies([p], call({ path })).denyReason, 'path_denied', path);
    for (const path of ['/administrator', '/admins', '/v1/admin', '/', '/adm']) {
      assert.equal(evaluatePolicies([p], call({ path })).outcome, 'allow', path);
    }
  });

  it('a prefix ending in / matches as written', () => {
    const p = policy({ denied_path_prefixes: ['/admin/'] });
    assert.equal(evaluatePolicies([p], call({ path: '/admin/x' })).denyReason, 'path_denied');
    assert.equal(evaluatePolicies([p], call({ path: '/admin/' })).denyReason, 'path_denied');
    assert.equal(evaluatePolicies([p], call({ path: '/admin' })).outcome, 'allow');
    const root = policy({ denied_path_prefixes: ['/'] });
    assert.equal(evaluatePolicies([root], call({ path: '/anything' })).denyReason, 'path_denied');
  });

  it('path_invalid for an ambiguous path, before any policy (even one without prefixes) is read', () => {
    for (const path of ['/admin%2fx', '/a%00', '/a\\b', '/%zz', '/%2561dmin', 'relative']) {
      assert.deepEqual(evaluatePolicies([policy()], call({ path })), {
        outcome: 'deny',
        policyId: null,
        policyVersion: null,
        denyReason: 'path_invalid',
      });
    }
  });

  it('cost_exceeds_max above the cap, not at it; null is no cap', () => {
    const p = policy({ max_cost_per_request_micros: 500_000 });
    assert.equal(evaluatePolicies([p], call({ costMicros: 500_000 })).outcome, 'allow');
    assert.equal(evaluatePolicies([p], call({ costMicros: 500_001 })).denyReason, 'cost_exceeds_max');
    assert.equal(evaluatePolicies([policy({ max_cost_per_request_micros: 0 })], call({ costMicros: 1 })).denyReason, 'cost_exceeds_max');
    assert.equal(evaluatePolicies([policy()], call({ costMicros: 9_000_000_000_000 })).outcome, 'allow');
  });

  it('cost_invalid for a negative, fractional or unsafe cost', () => {
    for (const costMicros of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      assert.equal(evaluatePolicies([policy()], call({ costMicros })).denyReason, 'cost_invalid', String(costMicros));
    }
  });

  it('checks within a policy in order: action, then path, then cost', () => {
    const p = policy({ allowed_actions: ['chat.*'], denied_path_prefixes: ['/admin'], max_cost_per_request_micros: 1 });
    assert.equal(evaluatePolicies([p], call({ action: 'x', path: '/admin', costMicros: 5 })).denyReason, 'action_not_allowed');
    assert.equal(evaluatePolicies([p], call({ path: '/admin', costMicros: 5 })).denyReason, 'path_denied');
    assert.equal(evaluatePolicies([p], call({ costMicros: 5 })).denyReason, 'cost_exceeds_max');
  });

  it('the first denying policy wins, and a denial beats any approval', () => {
    const approver = policy({ require_approval: true });
    const pathDenier = policy({ denied_path_prefixes: ['/admin'] }, 2);
    const costDenier = policy({ max_cost_per_request_micros: 0 });
    const verdict = evaluatePolicies([approver, pathDenier, costDenier], call({ path: '/admin' }));
    assert.deepEqual(verdict, { outcome: 'deny', policyId: pathDenier.id, policyVersion: 2, denyReason: 'path_denied' });
    assert.equal(evaluatePolicies([approver, costDenier, pathDenier], call({ path: '/admin' })).policyId, costDenier.id);
  });

  it('approval_required by require_approval, by approval_min_cost (at or above), or by approval_actions, naming that policy', () => {
    const open = policy();
    const always = policy({ require_approval: true }, 4);
    assert.deepEqual(evaluatePolicies([open, always], call()), {
      outcome: 'approval_required',
      policyId: always.id,
      policyVersion: 4,
      denyReason: null,
    });
    const costly = policy({ approval_min_cost_micros: 250_000 });
    assert.equal(evaluatePolicies([costly], call({ costMicros: 249_999 })).outcome, 'allow');
    assert.equal(evaluatePolicies([costly], call({ costMicros: 250_000 })).outcome, 'approval_required');
    assert.equal(evaluatePolicies([policy({ approval_min_cost_micros: 0 })], call({ costMicros: 0 })).outcome, 'approval_required');
    const refunds = policy({ approval_actions: ['chat.refund*'] });
    assert.equal(evaluatePolicies([refunds], call({ action: 'chat.refund.full' })).outcome, 'approval_required');
    assert.equal(evaluatePolicies([refunds], call({ action: 'Chat.Refund' })).outcome, 'approval_required');
    assert.equal(evaluatePolicies([refunds], call({ action: 'chat.send' })).outcome, 'allow');
  });

  it('reports the first policy that asks for approval', () => {
    const a = policy({ approval_actions: ['x'] });
    const b = policy({ require_approval: true });
    const c = policy({ require_approval: true });
    assert.equal(evaluatePolicies([a, b, c], call()).policyId, b.id);
  });

  it('seed 001 policy: allowed, capped, approval above a threshold', () => {
    const seed = policy({
      allowed_actions: ['chat.completions', 'embeddings'],
      denied_path_prefixes: ['/v1/files', '/admin'],
      max_cost_per_request_micros: 500_000,
      approval_min_cost_micros: 250_000,
      approval_actions: ['chat.refund'],
    });
    const go = (over: Partial<GovernedCall>) => evaluatePolicies([seed], call({ action: 'chat.completions', ...over }));
    assert.equal(go({ costMicros: 10_000 }).outcome, 'allow');
    assert.equal(go({ costMicros: 300_000 }).outcome, 'approval_required');
    assert.equal(go({ costMicros: 600_000 }).denyReason, 'cost_exceeds_max');
    assert.equal(go({ path: '/v1/files/abc' }).denyReason, 'path_denied');
    assert.equal(go({ action: 'chat.refund' }).denyReason, 'action_not_allowed');
  });

  it('is pure: the same input gives the same verdict and nothing is changed', () => {
    const p = policy({ denied_path_prefixes: ['/admin'], allowed_actions: ['chat.*'] });
    const snapshot = structuredClone(p);
    const c = call({ path: '//admin' });
    const first = evaluatePolicies([p], c);
    assert.deepEqual(evaluatePolicies([p], c), first);
    assert.deepEqual(p, snapshot);
    assert.equal(c.path, '//admin');
  });
});
