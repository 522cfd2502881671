/**
 * The job queue on a real Postgres (DATABASE_URL): 8 agents each claiming, one request at a time,
 * from 10,000 queued jobs (1,250 pinned to each), until the queue is drained. Jobs/s is 10,000 over
 * the time to the last claim; latency is per claim. Three contenders, each on a freshly filled table:
 * - bare pg loop: 8 connections running the textbook `FOR UPDATE SKIP LOCKED` claim in a loop, in
 *   this process (no HTTP, no authentication, no audit);
 * - bare express + pg: that claim behind an HTTP route with the agent's secret looked up
 *   (scripts/bench/jobs-server.ts), loaded by the same client loop as Warden;
 * - warden: `POST /api/v1/agents/{id}/jobs/claim?wait=5` through the whole app (long-poll, cluster
 *   directory, lease re-queueing, a `job.claimed` audit event per claim in the claim's transaction).
 */
import { Pool } from 'pg';
import { quoteIdentifier } from '../../src/db/database';
import { Db } from '../../src/db/db';
import { benchOrgWithKey, fixturePoster, withBenchDatabase } from './bench-database';
import { printTable, startServer } from './load';

/** The textbook queue claim. */
export const BARE_CLAIM = `UPDATE jobs SET status = 'claimed', claimed_by = $2, attempts = attempts + 1, claimed_at = now(),
    visible_at = now() + interval '300 seconds'
  WHERE id = (SELECT id FROM jobs WHERE org_id = $1 AND agent_id = $2 AND status = 'queued' ORDER BY visible_at, id
    LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, kind, status, cluster_name, agent_id, request_id, payload, attempts, max_attempts, claimed_at, visible_at, created_at`;

const AGENTS = 8;
const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const WARM_UP_JOBS = 800;

interface Drained {
  jobsPerSecond: number;
  p50: number;
  p99: number;
  claimed: number;
}

interface Claimer {
  /** One claim; true when it handed out a job. */
  claim(agent: number): Promise<boolean>;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Every agent claims, one at a time, until it has its share of the jobs. */
async function drain(claimer: Claimer, jobs: number): Promise<Drained> {
  const latencies: number[] = [];
  const share = jobs / AGENTS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: AGENTS }, async (_, agent) => {
      let mine = 0;
      while (mine < share) {
        const before = performance.now();
        if (!(await claimer.claim(agent))) throw new Error(`agent ${agent} found no job after ${mine} of ${share}`);
        latencies.push(performance.now() - before);
        mine++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    jobsPerSecond: latencies.length / seconds,
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    claimed: latencies.length,
  };
}

function httpClaimer(port: number, agents: Array<{ id: string; secret: string }>, wait: number): Claimer {
  return {
    async claim(agent) {
      const { id, secret } = agents[agent]!;
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/agents/${id}/jobs/claim${wait ? `?wait=${wait}` : ''}`, {
        method: 'POST',
        headers: { 'x-agent-secret': secret },
      });
      await res.arrayBuffer();
      if (res.status !== 200 && res.status !== 204) throw new Error(`claim answered ${res.status}`);
      return res.status === 200;
    },
  };
}

export async function jobsScenario(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.log('\nJobs: skipped - it needs DATABASE_URL (a real Postgres, where claims are woken by LISTEN/NOTIFY).');
    return;
  }
  console.log(`\nJob claims: ${AGENTS} agents draining ${JOBS} queued jobs (one claim at a time each), pool 10\n`);
  await withBenchDatabase('jobs', 2, async (database, schema) => {
    const db = new Db(database.dataSource);
    const { orgId, key } = await benchOrgWithKey(db, ['agent.mint']);
    const args = [serverUrl, schema ?? '-', '10'];
    const fill = async (jobs: number, agentIds: string[]) => {
      await db.query(`DELETE FROM jobs`);
      await db.query(
        `INSERT INTO jobs (id, org_id, kind, cluster_name, agent_id, payload, max_attempts, visible_at, created_at)
         SELECT 'job_' || lpad(i::text, 26, '0'), $1, 'custom', 'bench-cluster', ($2::text[])[1 + i % ${AGENTS}],
           jsonb_build_object('n', i), 3, now() - interval '1 hour' + i * interval '1 ms', now() - interval '1 hour'
         FROM generate_series(1, $3::int) i`,
        [orgId, agentIds, jobs],
      );
      await db.query(`VACUUM ANALYZE jobs`);
    };
    const measure = async (claimer: Claimer, agentIds: string[]) => {
      await fill(WARM_UP_JOBS, agentIds);
      await drain(claimer, WARM_UP_JOBS);
      await fill(JOBS, agentIds);
      return drain(claimer, JOBS);
    };

    const warden = await startServer('jobs-server.ts', ['warden', ...args]);
    let agents: Array<{ id: string; secret: string }>;
    let measuredWarden: Drained;
    try {
      const post = fixturePoster(warden.port, key);
      agents = [];
      for (let i = 0; i < AGENTS; i++) {
        const agent = await post('/api/v1/agents', { name: `bench agent ${i}` });
        agents.push({ id: agent.id!, secret: agent.agent_secret! });
      }
      measuredWarden = await measure(
        httpClaimer(warden.port, agents, 5),
        agents.map((agent) => agent.id),
      );
    } finally {
      warden.stop();
    }
    const agentIds = agents.map((agent) => agent.id);
    const bare = await startServer('jobs-server.ts', ['bare-express-pg', ...args]);
    let measuredExpress: Drained;
    try {
      measuredExpress = await measure(httpClaimer(bare.port, agents, 0), agentIds);
    } finally {
      bare.stop();
    }
    const pool = new Pool({
      connectionString: serverUrl,
      max: AGENTS,
      options: schema ? `-c search_path=${quoteIdentifier(schema)}` : undefined,
    });
    let measuredLoop: Drained;
    try {
      const loop: Claimer = {
        async claim(agent) {
          const { rows } = await pool.query(BARE_CLAIM, [orgId, agentIds[agent]]);
          return rows.length === 1;
        },
      };
      measuredLoop = await measure(loop, agentIds);
    } finally {
      await pool.end();
    }

    const rows: Array<[string, Drained]> = [
      ['bare pg SKIP LOCKED loop', measuredLoop],
      ['bare express + pg', measuredExpress],
      ['warden', measuredWarden],
    ];
    printTable(
      ['contender', 'jobs/s', 'p50 ms', 'p99 ms', 'vs bare loop', 'vs bare express', 'claimed'],
      rows.map(([name, r]) => [
        name,
        String(Math.round(r.jobsPerSecond)),
        String(r.p50),
        String(r.p99),
        `${(r.jobsPerSecond / measuredLoop.jobsPerSecond).toFixed(2)}x`,
        `${(r.jobsPerSecond / measuredExpress.jobsPerSecond).toFixed(2)}x`,
        String(r.claimed),
      ]),
    );
  });
}
