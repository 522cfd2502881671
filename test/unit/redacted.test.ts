import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redacted } from '../../src/audit/audited-change';

const R = '[REDACTED]';
const LIVE_KEY = `sk_live_${'a1B2'.repeat(6)}`;
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl';

/** [what, value, what the audit log keeps]. */
const CASES: Array<[string, unknown, unknown]> = [
  ['a plain value stays', { name: 'gear', size: 3, on: true, none: null }, { name: 'gear', size: 3, on: true, none: null }],
  [
    'each secret field, whatever its value',
    { password: 'x', pin: 1234, token: null, hec_token: 'h', routing_key: 'r', signature: 's' },
    { password: R, pin: R, token: R, hec_token: R, routing_key: R, signature: R },
  ],
  [
    'a secret field nested in an object or array',
    { agent: { secret: 's', id: 'agt_1' }, keys: [{ key: 'k' }] },
    { agent: { secret: R, id: 'agt_1' }, keys: [{ key: R }] },
  ],
  ['a Warden secret under any field', { note: LIVE_KEY, list: [`sas_${'x'.repeat(20)}`] }, { note: R, list: [R] }],
  ['a JWT under any field', { bearer: JWT }, { bearer: R }],
  ['a prefix with too short a tail is no secret', { id: 'sk_live_short' }, { id: 'sk_live_short' }],
  ['a secret inside a longer text is not matched', { text: `key ${LIVE_KEY}` }, { text: `key ${LIVE_KEY}` }],
  ['a long string is cut to 1000 characters, and says so', 'y'.repeat(1500), `${'y'.repeat(1000)}…[500 more characters]`],
  ['a string of 1000 characters stays whole', 'y'.repeat(1000), 'y'.repeat(1000)],
  [
    'an array keeps its first 50 items, and says how many more there were',
    Array.from({ length: 60 }, (_, i) => i),
    [...Array.from({ length: 50 }, (_, i) => i), '[…10 more items]'],
  ],
  ['an array of 50 items stays whole', Array.from({ length: 50 }, (_, i) => i), Array.from({ length: 50 }, (_, i) => i)],
  ['nesting past four levels is elided', { a: { b: { c: { d: { e: 1 } } } } }, { a: { b: { c: { d: '[…]' } } } }],
  ['a scalar stays', 42, 42],
  ['null stays', null, null],
];

describe('redacted: what of a change the audit log may keep', () => {
  for (const [what, value, kept] of CASES) {
    it(what, () => assert.deepEqual(redacted(value), kept));
  }
});
