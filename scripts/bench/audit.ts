/**
 * Audit benches: chained appends from 32 concurrent writers against plain inserts of the same
 * rows without a chain (same database, same run), and the verification rate over a long chain.
 */

import type { DataSource } from 'typeorm';
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

/** The append writers take turns in this many rounds, so a change in the shared machine's load falls on all of them alike. */
const ROUNDS = 5;

/** A writer: its call, and what must be done before its calls count as done (chaining what it left pending). */
interface Writer {
  work: (writer: number) => Promise<void>;
  finish?: () => Promise<void>;
}

interface Measured {
  done: number;
  seconds: number;
  /** This process's CPU time, µs (the database's not counted). */
  cpu: number;
}

/** Runs `work` from WRITERS concurrent loops for `seconds`, then `finish`; returns completed calls, the time taken and this process's CPU. */
async function throughput({ work, finish }: Writer, seconds: number): Promise<Measured> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const started = Date.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      while (Date.now() < deadline) {
        await work(writer);
        done++;
      }
    }),
  );
  await finish?.();
  const used = process.cpuUsage(cpu);
  return { done, seconds: (Date.now() - started) / 1000, cpu: used.user + used.system };
}

/** Each writer's calls per second and CPU µs per call, over ROUNDS interleaved rounds of APPEND_SECONDS / ROUNDS each. */
async function interleaved(writers: Writer[]): Promise<Array<{ rate: number; cpuPerCall: number }>> {
  const totals = writers.map(() => ({ done: 0, seconds: 0, cpu: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, writer] of writers.entries()) {
      const { done, seconds, cpu } = await throughput(writer, APPEND_SECONDS / ROUNDS);
      totals[i]!.done += done;
      totals[i]!.seconds += seconds;
      totals[i]!.cpu += cpu;
    }
  }
  return totals.map((total) => ({ rate: total.done / total.seconds, cpuPerCall: total.cpu / total.done }));
}

export async function auditScenarios(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL || undefined;
  await withBenchDatabase('audit', WRITERS, async (database) => {
    const { dataSource } = database;
    // As the server opens it: the hot statements prepared where the database allows.
    const db = new Db(dataSource, { namedStatements: database.namedStatements });
    const audit = new AuditService(
      db,
      new SigningKey(new InstanceSecrets(dataSource)),
      new OrgService(db, 'https://bench.invalid/upgrade'),
    );
    const where = serverUrl ? `DATABASE_URL, pool ${WRITERS}` : 'embedded PGlite (one session)';
    await dataSource.query(`CREATE TABLE plain_events (LIKE audit_events INCLUDING DEFAULTS)`);
    // The same table shape with audit_events' own indexes: what the chain adds over storing an event where events are stored.
    await dataSource.query(`CREATE TABLE indexed_events (LIKE audit_events INCLUDING DEFAULTS INCLUDING INDEXES)`);
    let indexedSeq = 0;
    const event = (writer: number) => ({
      orgId: 'org_bench',
      actor: { type: 'system' as const, id: `writer_${writer}` },
      action: 'bench.append',
      outcome: 'success' as const,
      details: { writer },
    });
    const plainInsert = (table: string, seq: () => number) => async (writer: number) => {
      await dataSource.query(
        `INSERT INTO ${table} (id, org_id, seq, occurred_at, actor_type, actor_id, action, resource_type, outcome, details, prev_hash, hash)
         VALUES ($1, 'org_bench', $4, now(), 'system', $2, 'bench.append', 'bench', 'success', $3, '\\x00', '\\x00')`,
        [newId('evt'), `writer_${writer}`, { writer }, seq()],
      );
    };
    const measured = await interleaved([
      { work: plainInsert('plain_events', () => 0) },
      { work: plainInsert('indexed_events', () => ++indexedSeq) },
      { work: (writer) => audit.record(event(writer)) },
      // As an audited operation appends: one event committed on its own, chained after; the round
      // ends once every event it appended is chained.
      { work: (writer) => audit.append(event(writer)), finish: () => audit.settled('org_bench') },
    ]);
    const [plain, indexed] = measured.map((writer) => writer.rate) as [number, number];
    const verdict = await audit.verifyChain('org_bench');
    const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM plain_events`);
    console.log(`\nAudit append, ${WRITERS} concurrent writers, ${APPEND_SECONDS}s each in ${ROUNDS} interleaved rounds, ${where}\n`);
    const ratios = (rate: number) => `${(rate / plain).toFixed(2)}x | ${(rate / indexed).toFixed(2)}x`;
    const labels = [
      'plain INSERT, no chain, no index',
      "plain INSERT, no chain, audit_events' indexes",
      'chained record (group commit: the batch written pending and chained in its transaction)',
      'chained append, one event per transaction, chained after (one statement per batch)',
    ];
    console.log(`| writer | events/s | vs plain | vs plain, indexed | this process's CPU µs/event |\n|---|---|---|---|---|`);
    for (const [i, { rate, cpuPerCall }] of measured.entries()) {
      console.log(`| ${labels[i]} | ${Math.round(rate)} | ${ratios(rate)} | ${Math.round(cpuPerCall)} |`);
    }
    console.log(`chain after the run: ${verdict.valid ? 'valid' : 'BROKEN'}, ${verdict.events_checked} events, gap-free; ${n} plain rows`);

    // A long chain, built directly (hashes computed here, rows inserted in large batches), verified
    // at half its length and again at full length: the peak memory of the walk must not grow with it.
    let prev: Buffer = Buffer.alloc(32);
    const occurredAt = new Date();
    let built = 0;
    for (const length of [Math.floor(VERIFY_EVENTS / 2), VERIFY_EVENTS]) {
      process.stdout.write(`\nbuilding a chain of ${length.toLocaleString('en')} events for verification…\n`);
      prev = await extendChain(dataSource, built, length, prev, occurredAt);
      built = length;
      await dataSource.query(
        `INSERT INTO audit_chain_heads (org_id, seq, hash) VALUES ('org_long', $1, $2) ON CONFLICT (org_id) DO UPDATE SET seq = $1, hash = $2`,
        [length, prev],
      );
      // Settle the bulk load first (visibility map, statistics), so autovacuum does not compete with the measured walk.
      await dataSource.query(`VACUUM (ANALYZE) audit_events`);
      // The same walk hashing on this thread only, then with the hashing thread (ChainHasher), back to back.
      const sequential = await measureVerification(audit, length, `${where}, hashed on one thread`, Number.POSITIVE_INFINITY);
      const parallel = await measureVerification(audit, length, `${where}, hashed on a second thread too`);
      console.log(`second hashing thread vs one: ${(parallel / sequential).toFixed(2)}x`);
    }
  });
}

/** Appends events `from + 1` … `to` to the long chain after `prev`; returns the last hash. */
async function extendChain(dataSource: DataSource, from: number, to: number, prev: Buffer, occurredAt: Date): Promise<Buffer> {
  for (let first = from + 1; first <= to; first += INSERT_BATCH) {
    const columns: unknown[][] = Array.from({ length: 8 }, () => []);
    for (let seq = first; seq < first + INSERT_BATCH && seq <= to; seq++) {
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
  return prev;
}

/** Verifies the long chain once: rate (wall clock and per second of this process's CPU, all its threads) and peak heap and RSS; returns the rate. */
async function measureVerification(audit: AuditService, length: number, where: string, parallelFrom?: number): Promise<number> {
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peakHeap = Math.max(peakHeap, now.heapUsed);
    peakRss = Math.max(peakRss, now.rss);
  }, 20);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await audit.verifyChain('org_long', undefined, parallelFrom);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  const rate = (per: number) => Math.round(result.events_checked / per).toLocaleString('en');
  console.log(`\nAudit verification of ${length.toLocaleString('en')} events, ${where}`);
  console.log(
    `${result.valid ? 'valid' : 'BROKEN'}; ${rate(seconds)} events/s (${seconds.toFixed(2)} s); ` +
      `${rate((used.user + used.system) / 1e6)} events per CPU second of this process (the database's CPU not counted)`,
  );
  console.log(
    `heap ${mib(before.heapUsed)} MiB before, peak ${mib(peakHeap)} MiB during; RSS ${mib(before.rss)} MiB before, peak ${mib(peakRss)} MiB during`,
  );
  return result.events_checked / seconds;
}
