import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chainHash, GENESIS } from '../src/audit/audit-chain';
import { AuditStore } from '../src/audit/audit-store';
import { canonicalDetails } from '../src/audit/canonical-details';
import { ChainWalk } from '../src/audit/chain-walk';
import { Db } from '../src/db/db';
import { canonicalJson } from '../src/lib/canonical-json';
import { startTestApp, type TestApp } from './support/test-app';
import { serverUrl } from './support/test-database';

/** A small deterministic PRNG (mulberry32), so a failure names a reproducible value. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  'a',
  'b',
  'aa',
  'id',
  'after',
  'before',
  'status',
  'operation_id',
  'Z',
  '_',
  'é',
  '日本',
  '😀',
  'ﬀ',
  '',
  'q"k',
  'b\\s',
  'tab\t',
];
const STRINGS = [
  '',
  'plain',
  'quote " in',
  'back \\ slash',
  'line\nbreak',
  'ctl \u0001\u001f\u007f',
  'é日本😀',
  '\u2028\u2029',
  '</script>',
];
const NUMBERS = [0, -0, 1, -1, 42, 123456789012345, 1234567890123456, 2 ** 53, -(2 ** 53) + 1, 0.5, -1.25, 1e21, 1e-7, 2.71, 1e300, 5e-324];

function value(next: () => number, depth: number): unknown {
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)]!;
  const kind = Math.floor(next() * (depth > 3 ? 4 : 6));
  if (kind === 0) return pick(STRINGS);
  if (kind === 1) return next() < 0.5 ? pick(NUMBERS) : Math.floor(next() * 1e6) - 5e5;
  if (kind === 2) return pick([true, false, null]);
  if (kind === 3) return `s${Math.floor(next() * 1000)}`;
  if (kind === 4) return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(next() * 5) }, () => [pick(KEYS), value(next, depth + 1)]));
}

describe('chain verification reads the chain as binary COPY and hashes exactly what chainHash hashes (issue 12)', () => {
  let warden: TestApp;
  before(async () => {
    warden = await startTestApp();
  });
  after(async () => {
    await warden.close();
  });

  it("canonicalDetails writes canonicalJson(JSON.parse(text)) of jsonb's text output byte for byte, or declines", async () => {
    const next = random(12);
    const values = [
      { seq: 1 },
      { writer: 31 },
      {},
      [],
      { operation_id: 'createWorkspace', status: 201, after: { id: 'ws_1', name: 'x' } },
      { a: { b: { c: [1, 2, { d: null }] } } },
      ...Array.from({ length: 3000 }, () => value(next, 0)),
    ];
    const rows: Array<{ text: string }> = await warden.database.dataSource.query(
      `SELECT v::jsonb::text AS text FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n`,
      [values.map((entry) => JSON.stringify(entry))],
    );
    let fast = 0;
    for (const { text } of rows) {
      const source = Buffer.from(text, 'utf8');
      const out = Buffer.alloc(source.length);
      const end = canonicalDetails(source, 0, source.length, out, 0);
      if (end < 0) continue;
      fast++;
      assert.equal(out.toString('utf8', 0, end), canonicalJson(JSON.parse(text)), text);
    }
    assert.ok(fast >= 6 && fast > rows.length / 10, `the fast path took ${fast} of ${rows.length}`);
  });

  it('a chain of awkward events verifies; an edit of any field of any row, a deletion, a reordering is found there, across ranges', async () => {
    const org = 'org_verify_walk';
    const next = random(7);
    const audit = warden.services.audit;
    for (let i = 0; i < 10; i++) {
      await audit.append({
        orgId: org,
        actor: { type: 'user', id: i % 3 === 0 ? null : `usr_${i}"é` },
        workspaceId: i % 2 ? `ws_${i}` : null,
        action: `test.walk${i}`,
        resourceId: i % 4 ? `res\\${i}\n` : null,
        outcome: 'success',
        requestId: `req ${STRINGS[i % STRINGS.length]}`,
        ip: i % 5 ? '127.0.0.1' : null,
        userAgent: `agent/${i} ${'😀'.repeat(i)}`,
        details: { i, nested: value(next, 0), z: [1.5, 'x'], after: { b: 1, a: 2 } } as Record<string, unknown>,
      });
    }
    // Every verdict is checked twice: hashed on this thread, and on the hashing thread (ChainHasher).
    const verify = async (range: number) => {
      const [sequential, parallel] = [await audit.verifyChain(org, range), await audit.verifyChain(org, range, 0)];
      assert.deepEqual(parallel, sequential, `range ${range}: the hashing thread's verdict differs`);
      return sequential;
    };
    const valid = { valid: true, org_id: org, events_checked: 10, head_seq: 10, first_broken_seq: null, reason: null, checkpoint: null };
    for (const range of [1, 3, 10, 100]) assert.deepEqual(await verify(range), valid);

    const sql = (text: string, parameters: unknown[] = []) => warden.auditRows(text, [org, ...parameters]);
    await sql(`CREATE TABLE verify_walk_backup AS SELECT * FROM audit_events WHERE org_id = $1`);
    const restore = async () => {
      await sql(`DELETE FROM audit_events WHERE org_id = $1`);
      await sql(`INSERT INTO audit_events SELECT * FROM verify_walk_backup WHERE org_id = $1`);
      assert.deepEqual(await verify(3), valid);
    };
    const expectBreak = async (seq: number, reason: string, label: string) => {
      for (const range of [3, 100]) {
        const verdict = await verify(range);
        assert.deepEqual(
          [verdict.valid, verdict.first_broken_seq, verdict.reason, verdict.events_checked],
          [false, seq, reason, seq - 1],
          `${label} (range ${range})`,
        );
      }
      await restore();
    };

    const edits: Record<string, string> = {
      action: `action || 'x'`,
      actor_id: `coalesce(actor_id || 'x', 'x')`,
      actor_type: `'system'`,
      details: `jsonb_set(details, '{i}', '99')`,
      id: `id || 'x'`,
      ip: `coalesce(NULL, '10.0.0.1')`,
      occurred_at: `occurred_at + interval '1 millisecond'`,
      outcome: `'failure'`,
      request_id: `request_id || ' '`,
      resource_id: `coalesce(resource_id || 'x', 'x')`,
      resource_type: `resource_type || 'x'`,
      user_agent: `NULL`,
      workspace_id: `coalesce(workspace_id || 'x', 'x')`,
      hash: `sha256(hash)`,
    };
    for (const [column, edit] of Object.entries(edits)) {
      for (const seq of [1, 4, 10]) {
        await sql(`UPDATE audit_events SET ${column} = ${edit} WHERE org_id = $1 AND seq = $2`, [seq]);
        // An edited hash also shows as the next row's broken link; the row itself is found first.
        await expectBreak(seq, 'edited', `${column} of ${seq}`);
      }
    }
    // Details that keep their meaning keep their hash (the hash covers the canonical JSON of the value).
    await sql(`UPDATE audit_events SET details = (details::text)::jsonb WHERE org_id = $1`);
    assert.deepEqual(await verify(3), valid);

    for (const seq of [1, 3, 4, 7, 10]) {
      await sql(`DELETE FROM audit_events WHERE org_id = $1 AND seq = $2`, [seq]);
      await expectBreak(seq, 'deleted', `deleted ${seq}`);
    }
    await sql(`DELETE FROM audit_events WHERE org_id = $1 AND seq >= 3 AND seq <= 6`);
    await expectBreak(3, 'deleted', 'a range deleted');
    await sql(`UPDATE audit_events SET prev_hash = sha256(prev_hash) WHERE org_id = $1 AND seq = 6`);
    await expectBreak(6, 'reordered', 'a forged link');
    for (const [a, b] of [
      [2, 5],
      [3, 4],
      [9, 10],
    ]) {
      await sql(`UPDATE audit_events SET seq = -1 WHERE org_id = $1 AND seq = $2`, [a]);
      await sql(`UPDATE audit_events SET seq = $2 WHERE org_id = $1 AND seq = $3`, [a, b]);
      await sql(`UPDATE audit_events SET seq = $2 WHERE org_id = $1 AND seq = -1`, [b]);
      await expectBreak(a!, 'reordered', `swapped ${a} and ${b}`);
    }
    // A forged event past the head is walked and then contradicts the head.
    await sql(
      `INSERT INTO audit_events SELECT id || 'x', org_id, 11, occurred_at, actor_type, actor_id, workspace_id, action, resource_type,
         resource_id, outcome, request_id, ip, user_agent, details, hash, hash FROM audit_events WHERE org_id = $1 AND seq = 10`,
    );
    const past = await verify(3);
    assert.deepEqual([past.valid, past.first_broken_seq, past.reason, past.events_checked], [false, 11, 'edited', 10]);
    await restore();
    await warden.database.dataSource.query(`DROP TABLE verify_walk_backup`);
  });

  it('a long chain is hashed on a second thread as well as this one; the first break is found wherever it is', async () => {
    const org = 'org_verify_long';
    const length = 30_000;
    const sql = (text: string, parameters: unknown[] = []) => warden.auditRows(text, parameters);
    let prev: Buffer = GENESIS;
    const occurredAt = new Date('2026-11-25T10:00:00.000Z');
    for (let first = 1; first <= length; first += 5000) {
      const columns: unknown[][] = [[], [], [], [], []];
      for (let seq = first; seq < first + 5000; seq++) {
        const fields = {
          id: `evt_long${seq}`,
          org_id: org,
          seq,
          occurred_at: occurredAt.toISOString(),
          actor_type: 'system' as const,
          actor_id: null,
          workspace_id: null,
          action: 'test.long',
          resource_type: 'test',
          resource_id: null,
          outcome: 'success' as const,
          request_id: null,
          ip: null,
          user_agent: null,
          details: { seq, text: 'x'.repeat(seq % 300) },
        };
        const hash = chainHash(prev, fields);
        for (const [i, value] of [fields.id, seq, JSON.stringify(fields.details), prev, hash].entries()) columns[i]!.push(value);
        prev = hash;
      }
      await sql(
        `INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, action, resource_type, outcome, details, prev_hash, hash)
         SELECT id, $7, seq, $6, 'system', 'test.long', 'test', 'success', details::jsonb, prev_hash, hash
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[], $5::bytea[]) AS t(id, seq, details, prev_hash, hash)`,
        [...columns, occurredAt, org],
      );
    }
    await sql(`INSERT INTO audit_chain_heads (org_id, seq, hash) VALUES ($1, $2, $3)`, [org, length, prev]);
    const audit = warden.services.audit;
    const verdicts = async () => [
      await audit.verifyChain(org),
      await audit.verifyChain(org, 7_000, 0),
      await audit.verifyChain(org, 100_000, Infinity),
    ];
    for (const verdict of await verdicts()) assert.deepEqual([verdict.valid, verdict.events_checked], [true, length]);
    const broken = async (seq: number, reason: string, label: string) => {
      for (const verdict of await verdicts()) {
        assert.deepEqual(
          [verdict.valid, verdict.first_broken_seq, verdict.reason, verdict.events_checked],
          [false, seq, reason, seq - 1],
          label,
        );
      }
    };
    // An edit late in the chain, then an earlier one too: the earliest is reported, whichever thread finds it.
    await sql(`UPDATE audit_events SET details = jsonb_set(details, '{seq}', '0') WHERE org_id = $1 AND seq = 29000`, [org]);
    await broken(29_000, 'edited', 'an edit near the end');
    await sql(`UPDATE audit_events SET hash = sha256(hash) WHERE org_id = $1 AND seq = 12345`, [org]);
    await broken(12_345, 'edited', 'a forged hash before it');
    await sql(`DELETE FROM audit_events WHERE org_id = $1 AND seq = 20000`, [org]);
    await broken(12_345, 'edited', 'a deletion after the first edit');
    await sql(`DELETE FROM audit_events WHERE org_id = $1 AND seq = 3`, [org]);
    await broken(3, 'deleted', 'a deletion before every edit');
  });

  it('verification reads one snapshot: events committed while it walks are neither walked nor a break', {
    skip: serverUrl ? false : 'needs a second connection: DATABASE_URL or TEST_DATABASE_URL',
  }, async () => {
    const org = 'org_verify_live';
    const audit = warden.services.audit;
    const append = (i: number) =>
      audit.append({ orgId: org, actor: { type: 'system', id: null }, action: 'test.live', outcome: 'success', details: { i } });
    for (let i = 0; i < 5; i++) await append(i);
    await audit.settled(org);
    const store = new AuditStore(new Db(warden.database.dataSource));
    const seen = await store.snapshot(async (snapshot) => {
      const head = await snapshot.head(org);
      for (let i = 5; i < 8; i++) await append(i);
      await audit.settled(org); // committed and chained on other connections, mid-snapshot
      const walk = new ChainWalk(1, GENESIS);
      await snapshot.copy(org, 1, 100, (chunk) => walk.push(chunk));
      return { headSeq: head!.seq, walked: walk.rowsRead, broken: walk.broken, atHead: walk.prevHash.equals(head!.hash) };
    });
    assert.deepEqual(seen, { headSeq: '5', walked: 5, broken: null, atHead: true });
    const verdict = await audit.verifyChain(org);
    assert.deepEqual([verdict.valid, verdict.events_checked, verdict.head_seq], [true, 8, 8]);
  });
});
