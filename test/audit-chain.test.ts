import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditChain, chainHash, GENESIS, type HashedFields, hashedFields } from '../src/audit/audit-chain';
import type { NewAuditEvent } from '../src/audit/audit-event';
import { openDatabase } from '../src/db/database';
import { Db } from '../src/db/db';
import { migrations } from '../src/db/migrations';
import { AuditChainedInDatabase1733430000000 } from '../src/db/migrations/1733430000000-audit-chained-in-database';
import { startTestApp } from './support/test-app';
import { openTestDatabase, serverUrl } from './support/test-database';

describe('the chain stays one gap-free line under concurrent writers', () => {
  it('32 concurrent appends on one database', async () => {
    const warden = await startTestApp();
    try {
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          warden.services.audit.record({
            orgId: 'org_concurrent',
            actor: { type: 'system', id: null },
            action: 'test.append',
            outcome: 'success',
            details: { i },
          }),
        ),
      );
      assert.deepEqual(await warden.services.audit.verifyChain('org_concurrent'), {
        valid: true,
        org_id: 'org_concurrent',
        events_checked: 32,
        head_seq: 32,
        first_broken_seq: null,
        reason: null,
        checkpoint: null,
      });
    } finally {
      await warden.close();
    }
  });

  it('32 concurrent writers across two DataSources ("two instances") on a real PostgreSQL', {
    skip: serverUrl ? false : 'needs DATABASE_URL or TEST_DATABASE_URL',
  }, async () => {
    const warden = await startTestApp();
    const schema = warden.database.schema!;
    const second = await openDatabase({ kind: 'server', url: serverUrl!, poolSize: 8, schema }, { migrate: false });
    try {
      const instances = [warden.services.audit, new AuditChain(new Db(second.dataSource))];
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          instances[i % 2]!.record({
            orgId: 'org_two_instances',
            actor: { type: 'system', id: null },
            action: 'test.append',
            outcome: 'success',
            details: { i },
          }),
        ),
      );
      const verdict = await warden.services.audit.verifyChain('org_two_instances');
      assert.deepEqual(verdict, {
        valid: true,
        org_id: 'org_two_instances',
        events_checked: 32,
        head_seq: 32,
        first_broken_seq: null,
        reason: null,
        checkpoint: null,
      });
      const seqs = await warden.auditRows(`SELECT seq::int AS seq FROM audit_events WHERE org_id = 'org_two_instances' ORDER BY seq`);
      assert.deepEqual(
        seqs.map((row: { seq: number }) => row.seq),
        Array.from({ length: 32 }, (_, i) => i + 1),
      );
    } finally {
      await second.close();
      await warden.close();
    }
  });

  it('appended events chained by two instances at once, between recorded ones, each chained once in one gap-free line', {
    skip: serverUrl ? false : 'needs DATABASE_URL or TEST_DATABASE_URL',
  }, async () => {
    const warden = await startTestApp();
    const second = await openDatabase(
      { kind: 'server', url: serverUrl!, poolSize: 8, schema: warden.database.schema! },
      { migrate: false },
    );
    try {
      const instances = [warden.services.audit, new AuditChain(new Db(second.dataSource))];
      const event = (i: number): NewAuditEvent => ({
        orgId: 'org_two_chainers',
        actor: { type: 'system', id: null },
        action: i % 5 === 0 ? 'test.recorded' : 'test.appended',
        outcome: 'success',
        details: { i },
      });
      // Each append is chained right after its commit by its own instance: the two chainers race
      // on the head, with recorded events (which lock it) cutting in.
      await Promise.all(
        Array.from({ length: 120 }, (_, i) => (i % 5 === 0 ? instances[i % 2]!.record(event(i)) : instances[i % 2]!.append(event(i)))),
      );
      await Promise.all(instances.map((instance) => instance.settled('org_two_chainers')));
      const verdict = await warden.services.audit.verifyChain('org_two_chainers');
      assert.deepEqual([verdict.valid, verdict.events_checked, verdict.head_seq], [true, 120, 120]);
      const rows = await warden.auditRows(
        `SELECT seq::int AS seq, (details->>'i')::int AS i FROM audit_events WHERE org_id = 'org_two_chainers' ORDER BY seq`,
      );
      assert.deepEqual(
        rows.map((row: { seq: number }) => row.seq),
        Array.from({ length: 120 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        rows.map((row: { i: number }) => row.i).sort((a: number, b: number) => a - b),
        Array.from({ length: 120 }, (_, i) => i),
      );
      assert.deepEqual(await warden.database.dataSource.query(`SELECT 1 FROM audit_pending`), []);
    } finally {
      await second.close();
      await warden.close();
    }
  });

  it('the database hashes exactly what chainHash hashes: unicode, escapes, numbers, key order, a Date, a long user agent', async () => {
    const warden = await startTestApp();
    try {
      const org = 'org_chain_text';
      const audit = warden.services.audit;
      const details = [
        { text: 'naïve café 日本語 🦀 \u{10FFFF}', quote: 'a "quoted" \\ back\\slash', control: '\t\n\r\b\f\u0001\u001f\u007f' },
        { numbers: [0, -0, 1e21, 1.5e-7, 0.1, -42, 2 ** 53, 123456789.125], flags: [true, false, null] },
        { z: 1, a: 2, é: 3, E: 4, 'e\u0301': 5, '': 6, nested: { b: [{ y: 1, x: 2 }], a: {} } },
        { at: new Date('2026-01-02T03:04:05.678Z'), skipped: undefined, list: [undefined, 1] },
        // What PostgreSQL cannot store as text becomes U+FFFD; a backslash before "u0000" is only text.
        { nul: 'a\u0000b', lone: 'x\ud800y\udc00', 'key\u0000': 1, literal: '\\u0000 \\\u0000' },
      ];
      for (const [i, entry] of details.entries()) {
        await audit.append({
          orgId: org,
          actor: { type: 'user', id: `usr_${i}` },
          action: 'test.text',
          outcome: 'success',
          resourceId: 'res_"é"',
          ip: '::1',
          // The user agent is cut at 512 UTF-16 units: here inside a surrogate pair.
          userAgent: `agent/1 ${'ü'.repeat(503)}🦀🦀`,
          details: entry as Record<string, unknown>,
        });
      }
      await audit.record({
        orgId: org,
        actor: { type: 'system', id: null },
        action: 'test.recorded',
        outcome: 'failure',
        details: { i: 4 },
      });
      const verdict = await audit.verifyChain(org);
      assert.deepEqual([verdict.valid, verdict.events_checked, verdict.reason], [true, 6, null]);
      const rows = await warden.auditRows(`SELECT * FROM audit_events WHERE org_id = $1 ORDER BY seq`, [org]);
      let prev = GENESIS;
      for (const row of rows) {
        // Recomputed here from the stored row, as any verifier of an export would.
        assert.deepEqual(row.prev_hash, prev);
        assert.deepEqual(row.hash, chainHash(prev, hashedFields(row)));
        prev = row.hash;
      }
      assert.deepEqual(rows[3].details, { at: '2026-01-02T03:04:05.678Z', list: [null, 1] });
      assert.equal(rows[0].user_agent, `agent/1 ${'ü'.repeat(503)}\uFFFD`);
      assert.deepEqual(rows[4].details, { nul: 'a\uFFFDb', lone: 'x\uFFFDy\uFFFD', 'key\uFFFD': 1, literal: '\\u0000 \\\uFFFD' });
      assert.deepEqual(rows[1].details.numbers, [0, 0, 1e21, 1.5e-7, 0.1, -42, 2 ** 53, 123456789.125]);
    } finally {
      await warden.close();
    }
  });

  it('an upgrade chains the events an earlier version left pending, as that version would have hashed them', async () => {
    const before = migrations.slice(0, migrations.indexOf(AuditChainedInDatabase1733430000000));
    const database = await openTestDatabase({ migrations: before });
    try {
      const org = 'org_upgraded';
      // audit_pending as the earlier version wrote it: the event's fields as JSON, with details as JSON.stringify wrote them.
      const left = [0, 1, 2].map((i) => ({
        id: `evt_left${i}`,
        org_id: org,
        occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        actor_type: 'system',
        actor_id: null,
        workspace_id: null,
        action: 'test.left',
        resource_type: 'test',
        resource_id: i === 1 ? 'res_"ü"' : null,
        outcome: 'success',
        request_id: null,
        ip: null,
        user_agent: null,
        details: { i, z: [1.5, 'é'], a: { c: 1, b: null } },
      }));
      for (const event of left) {
        await database.dataSource.query(`INSERT INTO audit_pending (org_id, event) VALUES ($1, $2)`, [org, JSON.stringify(event)]);
      }
      const runner = database.dataSource.createQueryRunner();
      try {
        await new AuditChainedInDatabase1733430000000().up(runner);
      } finally {
        await runner.release();
      }
      await new AuditChain(new Db(database.dataSource)).sweepPending(0);
      const rows = await database.dataSource.query(`SELECT * FROM audit_events WHERE org_id = $1 ORDER BY seq`, [org]);
      assert.deepEqual(
        rows.map((row: { seq: string; id: string }) => [row.seq, row.id]),
        [
          ['1', 'evt_left0'],
          ['2', 'evt_left1'],
          ['3', 'evt_left2'],
        ],
      );
      let prev = GENESIS;
      for (const [i, row] of rows.entries()) {
        assert.deepEqual(row.hash, chainHash(prev, { ...left[i]!, seq: i + 1 } as HashedFields));
        prev = row.hash;
      }
      assert.deepEqual(await database.dataSource.query(`SELECT 1 FROM audit_pending`), []);
    } finally {
      await database.close();
    }
  });
});
