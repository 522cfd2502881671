/**
 * Audit benches: chained appends from 32 concurrent writers against plain inserts of the same
 * rows without a chain (same database, same run), and the verification rate over a long chain.
 */

import { chainHash } from '../../src/audit/audit-chain';
import { SigningKey } from '../../src/auth/signing-key';
import { Db } from '../../src/db/db';
import { newId } from '../../src/db/ids';
import { InstanceSecrets } from '../../src/db/instance-secrets';
import { AuditService } from '../../src/modules/audit';
import { OrgService } from '../../src/modules/orgs';
import { withBenchDatabase } from './bench-database';

const WRITERS = 32;
const APPEND_SECONDS = Number(process.env.BENCH_DURATION ?? 8);
const VERIFY_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const INSERT_BATCH = 5000;

/** Runs `work` from WRITERS concurrent loops for the duration; returns completed calls per second. */
async function throughput(work: (writer: number) => Promise<void>): Promise<number> {
  const deadline = Date.now() + APPEND_SECONDS * 1000;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      while (Date.now() < deadline) {
        await work(writer);
        done++;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

export async function auditScenarios(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL || undefined;
  await withBenchDatabase('audit', WRITERS, async (database) => {
    const { dataSource } = database;
    const db = new Db(dataSource);
    const audit = new AuditService(
      db,
      new SigningKey(new InstanceSecrets(dataSource)),
      new OrgService(db, 'https://bench.invalid/upgrade'),
    );
    const where = serverUrl ? `DATABASE_URL, pool ${WRITERS}` : 'embedded PGlite (one session)';
    await dataSource.query(`CREATE TABLE plain_events (LIKE audit_events INCLUDING DEFAULTS)`);
    const event = (writer: number) => ({
      orgId: 'org_bench',
      actor: { type: 'system' as const, id: `writer_${writer}` },
      action: 'bench.append',
      outcome: 'success' as const,
      details: { writer },
    });
    const plain = await throughput(async (writer) => {
      await dataSource.query(
        `INSERT INTO plain_events (id, org_id, seq, occurred_at, actor_type, actor_id, action, resource_type, outcome, details, prev_hash, hash)
         VALUES ($1, 'org_bench', 0, now(), 'system', $2, 'bench.append', 'bench', 'success', $3, '\\x00', '\\x00')`,
        [newId('evt'), `writer_${writer}`, { writer }],
      );
    });
    const chained = await throughput((writer) => audit.record(event(writer)));
    const verdict = await audit.verifyChain('org_bench');
    console.log(`\nAudit append, ${WRITERS} concurrent writers, ${APPEND_SECONDS}s each, ${where}\n`);
    console.log(`| writer | events/s | vs plain |\n|---|---|---|`);
    console.log(`| plain INSERT, no chain | ${Math.round(plain)} | 1.00x |`);
    console.log(`| chained append (lock head, hash, insert, update head) | ${Math.round(chained)} | ${(chained / plain).toFixed(2)}x |`);
    console.log(`chain after the run: ${verdict.valid ? 'valid' : 'BROKEN'}, ${verdict.events_checked} events, gap-free`);

    // A long chain, built directly: hashes computed here, rows inserted in large batches.
    process.stdout.write(`\nbuilding a chain of ${VERIFY_EVENTS.toLocaleString('en')} events for verification…\n`);
    let prev: Buffer = Buffer.alloc(32);
    const occurredAt = new Date();
    for (let first = 1; first <= VERIFY_EVENTS; first += INSERT_BATCH) {
      const columns: unknown[][] = Array.from({ length: 8 }, () => []);
      for (let seq = first; seq < first + INSERT_BATCH && seq <= VERIFY_EVENTS; seq++) {
        const fields = {
          id: `evt_long${seq}`,
          org_id: 'org_long',
          seq,
          occurred_at: occurredAt.toISOString(),
          actor_type: 'system' as const,
          actor_id: null,
          workspace_id: null,
          action: 'bench.verify',
          resource_type: 'bench',
          resource_id: null,
          outcome: 'success' as const,
          request_id: null,
          ip: null,
          user_agent: null,
          details: { seq },
        };
        const hash = chainHash(prev, fields);
        for (const [i, value] of [fields.id, seq, JSON.stringify(fields.details), prev, hash].entries()) columns[i]!.push(value);
        prev = hash;
      }
      await dataSource.query(
        `INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, action, resource_type, outcome, details, prev_hash, hash)
         SELECT id, 'org_long', seq, $6, 'system', 'bench.verify', 'bench', 'success', details::jsonb, prev_hash, hash
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[], $5::bytea[]) AS t(id, seq, details, prev_hash, hash)`,
        [columns[0], columns[1], columns[2], columns[3], columns[4], occurredAt],
      );
    }
    await dataSource.query(`INSERT INTO audit_chain_heads (org_id, seq, hash) VALUES ('org_long', $1, $2)`, [VERIFY_EVENTS, prev]);
    // Settle the bulk load first (visibility map, statistics), so autovacuum does not compete with the measured walk.
    await dataSource.query(`VACUUM (ANALYZE) audit_events`);

    let peakHeap = 0;
    const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
    const heapBefore = process.memoryUsage().heapUsed;
    const started = process.hrtime.bigint();
    const result = await audit.verifyChain('org_long');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    console.log(`\nAudit verification of ${VERIFY_EVENTS.toLocaleString('en')} events, ${where}`);
    console.log(
      `${result.valid ? 'valid' : 'BROKEN'}; ${Math.round(result.events_checked / seconds).toLocaleString('en')} events/s (${seconds.toFixed(1)} s); ` +
        `heap ${Math.round(heapBefore / 2 ** 20)} MiB before, peak ${Math.round(peakHeap / 2 ** 20)} MiB during`,
    );
  });
}
