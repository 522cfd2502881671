/**
 * The job queue on a real Postgres (DATABASE_URL): 8 agents serving one cluster each claiming, one
 * request at a time, from 10,000 queued jobs of that cluster until the queue is drained. Jobs/s is
 * 10,000 over the time to the last job handed out; latency is per claim that handed one out. Three
 * contenders, each on a freshly filled table (after a warm-up of 800 jobs):
 * - bare pg loop: 8 connections running the textbook `FOR UPDATE SKIP LOCKED` claim in a loop, in
 *   this process (no HTTP, no authentication, no audit);
 * - bare express + pg: that claim behind an HTTP route with the agent's secret looked up
 *   (scripts/bench/jobs-server.ts), loaded by the same client loop as Warden;
 * - warden: `POST /api/v1/agents/{id}/jobs/claim?wait=5` through the whole app (long-poll, served
 *   clusters, lease re-queueing, a `job.claimed` audit event per claim in the claim's transaction,
 *   claims made at once sharing one transaction and one claim statement).
 * Besides jobs/s and latency: each server's CPU time per job. BENCH_JOBS_BASELINE=<dir of another
 * checkout> adds that checkout's Warden as a fourth contender, measured in the same run (before and
 * after a change, on the same machine at the same time).
 */
import { spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import { Pool } from 'pg';
import { quoteIdentifier } from '../../src/db/database';
import { Db } from '../../src/db/db';
import { benchOrgWithKey, fixturePoster, withBenchDatabase } from './bench-database';
import { printTable, type StartedServer, startServer } from './load';

/** The textbook queue claim: the oldest queued job of the cluster, skipping those another claim has locked. */
export const BARE_CLAIM = `UPDATE jobs SET status = 'claimed', claimed_by = $2, attempts = attempts + 1, claimed_at = now(),
    visible_at = now() + interval '300 seconds'
  WHERE id = (SELECT id FROM jobs WHERE org_id = $1 AND cluster_name = $3 AND agent_id IS NULL AND status = 'queued'
    ORDER BY visible_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, kind, status, cluster_name, agent_id, request_id, payload, attempts, max_attempts, claimed_at, visible_at, created_at`;
export const BENCH_CLUSTER = 'bench-cluster';

const AGENTS = 8;
const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const WARM_UP_JOBS = 800;
/** Another checkout of Warden (e.g. the commit before a change) to measure beside this one in the same run. */
const BASELINE = process.env.BENCH_JOBS_BASELINE;

/** This bench's server script started from another checkout, as startServer starts it from this one. */
function startBaseline(root: string, args: string[]): Promise<StartedServer> {
  const child = spawn(
    process.execPath,
    ['scripts/start.js', relative(join(__dirname, '../..'), join(__dirname, 'jobs-server.ts')), ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /LISTENING (\d+)/.exec(output);
      if (match) resolve({ port: Number(match[1]), output: () => output, stop: () => child.kill() });
    });
    child.once('exit', (code) => reject(new Error(`the baseline's jobs-server exited with ${code} before listening`)));
  });
}

interface Drained {
  jobsPerSecond: number;
  p50: number;
  p99: number;
  claimed: number;
  /** The server process's CPU time (user + system) per job handed out, where a server process answers the claims. */
  cpuMsPerJob?: number;
}

/** The CPU time a bench server process has used so far, in ms, from the port it printed as `CPU <port>`. */
async function serverCpuMs(server: StartedServer): Promise<number> {
  const port = /CPU (\d+)/.exec(server.output())?.[1];
  if (!port) throw new Error('the jobs server printed no CPU port');
  const { user, system } = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { user: number; system: number };
  return (user + system) / 1000;
}

interface Claimer {
  /** One claim; true when it handed out a job. */
  claim(agent: number): Promise<boolean>;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Every agent claims, one request at a time, until the queue is empty: jobs/s counts to the last job handed out. */
async function drain(claimer: Claimer, jobs: number): Promise<Drained> {
  const latencies: number[] = [];
  const started = performance.now();
  let last = started;
  await Promise.all(
    Array.from({ length: AGENTS }, async (_, agent) => {
      while (latencies.length < jobs) {
        const before = performance.now();
        if (!(await claimer.claim(agent))) return;
        last = performance.now();
        latencies.push(last - before);
      }
    }),
  );
  if (latencies.length !== jobs) throw new Error(`${latencies.length} of ${jobs} jobs were claimed`);
  latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    jobsPerSecond: jobs / ((last - started) / 1000),
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    claimed: latencies.length,
  };
}

/** The agent reports a secret of the bench cluster through the API, and so serves it. */
async function reportSecret(port: number, agent: { id: string; secret: string }, n: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/agents/${agent.id}/secrets/bulk`, {
    method: 'POST',
    headers: { 'x-agent-secret': agent.secret, 'content-type': 'application/json' },
    body: JSON.stringify({ secrets: [{ cluster_name: BENCH_CLUSTER, provider: 'kubernetes', ref: `bench/secret-${n}` }] }),
  });
  if (!res.ok) throw new Error(`a bench fixture: reporting a secret answered ${res.status}`);
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
    const fill = async (jobs: number) => {
      await db.query(`DELETE FROM jobs`);
      await db.query(
        `INSERT INTO jobs (id, org_id, kind, cluster_name, payload, max_attempts, visible_at, created_at)
         SELECT 'job_' || lpad(i::text, 26, '0'), $1, 'custom', $2, jsonb_build_object('n', i), 3,
           now() - interval '1 hour' + i * interval '1 ms', now() - interval '1 hour'
         FROM generate_series(1, $3::int) i`,
        [orgId, BENCH_CLUSTER, jobs],
      );
      await db.query(`VACUUM ANALYZE jobs`);
    };
    const measure = async (claimer: Claimer, server?: StartedServer) => {
      await fill(WARM_UP_JOBS);
      await drain(claimer, WARM_UP_JOBS);
      await fill(JOBS);
      const cpuBefore = server && (await serverCpuMs(server));
      const drained = await drain(claimer, JOBS);
      if (server) drained.cpuMsPerJob = ((await serverCpuMs(server)) - cpuBefore!) / JOBS;
      return drained;
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
        await reportSecret(warden.port, agents[i]!, i);
      }
      measuredWarden = await measure(httpClaimer(warden.port, agents, 5), warden);
    } finally {
      warden.stop();
    }
    let measuredBaseline: Drained | undefined;
    if (BASELINE) {
      const baseline = await startBaseline(BASELINE, ['warden', ...args]);
      try {
        measuredBaseline = await measure(httpClaimer(baseline.port, agents, 5), baseline);
      } finally {
        baseline.stop();
      }
    }
    const agentIds = agents.map((agent) => agent.id);
    const bare = await startServer('jobs-server.ts', ['bare-express-pg', ...args]);
    let measuredExpress: Drained;
    try {
      measuredExpress = await measure(httpClaimer(bare.port, agents, 0), bare);
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
          const { rows } = await pool.query(BARE_CLAIM, [orgId, agentIds[agent], BENCH_CLUSTER]);
          return rows.length === 1;
        },
      };
      measuredLoop = await measure(loop);
    } finally {
      await pool.end();
    }

    const rows: Array<[string, Drained]> = [
      ['bare pg SKIP LOCKED loop', measuredLoop],
      ['bare express + pg', measuredExpress],
      ['warden', measuredWarden],
      ...(measuredBaseline ? [[`warden at ${BASELINE}`, measuredBaseline] as [string, Drained]] : []),
    ];
    printTable(
      ['contender', 'jobs/s', 'p50 ms', 'p99 ms', 'vs bare loop', 'vs bare express', 'server CPU ms/job', 'claimed'],
      rows.map(([name, r]) => [
        name,
        String(Math.round(r.jobsPerSecond)),
        String(r.p50),
        String(r.p99),
        `${(r.jobsPerSecond / measuredLoop.jobsPerSecond).toFixed(2)}x`,
        `${(r.jobsPerSecond / measuredExpress.jobsPerSecond).toFixed(2)}x`,
        r.cpuMsPerJob === undefined ? '-' : r.cpuMsPerJob.toFixed(2),
        String(r.claimed),
      ]),
    );
  });
}
