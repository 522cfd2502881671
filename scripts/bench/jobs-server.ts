/**
 * One contender of the jobs bench, alone in its own process:
 * `jobs-server.ts <warden|bare-express-pg> <database url> <schema or -> <pool size>`.
 * - warden: Warden's whole app; `POST /api/v1/agents/{id}/jobs/claim` authenticates the agent and
 *   claims in one statement (live agent, served clusters, exhausted leases, the oldest eligible job
 *   under FOR UPDATE SKIP LOCKED), writing a `job.claimed` audit event in the same transaction;
 *   claims made at once share the transaction and the statement;
 * - bare-express-pg: Express + pg answering the same route with the agent look-up by its
 *   secret's digest and a bare `FOR UPDATE SKIP LOCKED` claim of the bench cluster's oldest queued job,
 *   autocommitted: no lease re-queueing, no cluster directory, no audit, no long-poll.
 * Prints `LISTENING <port>`, and `CPU <port>`: a port of its own answering the process's CPU time so
 * far (`process.cpuUsage()`, microseconds), so the bench can tell the CPU each claim cost the server.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { Pool } from 'pg';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { openDatabase, quoteIdentifier } from '../../src/db/database';
import { createLogger } from '../../src/logging/logger';
import { BARE_CLAIM, BENCH_CLUSTER } from './jobs';
import { serveContender } from './serve-contender';

const AGENT_BY_SECRET = `SELECT a.id, a.org_id FROM agents a WHERE a.secret_digest = $1 AND a.status = 'active'`;
async function build(contender: string, url: string, schema: string | undefined, poolSize: number): Promise<Express> {
  if (contender === 'warden') {
    const database = await openDatabase({ kind: 'server', url, poolSize, schema }, { migrate: false });
    const config = { ...loadConfig({}), logLevel: 'warn' as const };
    return (await createApp({ config, database, logger: createLogger(config.logLevel) })).app;
  }
  const pool = new Pool({
    connectionString: url,
    max: poolSize,
    options: schema ? `-c search_path=${quoteIdentifier(schema)}` : undefined,
  });
  const app = express();
  app.disable('x-powered-by');
  app.post('/api/v1/agents/:id/jobs/claim', async (req, res, next) => {
    try {
      const secret = req.get('x-agent-secret');
      if (!secret) return void res.status(401).json({ error: 'unauthorized' });
      const { rows: agents } = await pool.query(AGENT_BY_SECRET, [createHash('sha256').update(secret).digest()]);
      const agent = agents[0];
      if (!agent) return void res.status(401).json({ error: 'unauthorized' });
      if (agent.id !== req.params.id) return void res.status(403).json({ error: 'forbidden' });
      const { rows } = await pool.query(BARE_CLAIM, [agent.org_id, agent.id, BENCH_CLUSTER]);
      if (!rows[0]) return void res.status(204).end();
      res.json(rows[0]);
    } catch (error) {
      next(error);
    }
  });
  return app;
}

const cpu = createServer((_req, res) => {
  const { user, system } = process.cpuUsage();
  res.end(JSON.stringify({ user, system }));
});
cpu.listen(0, '127.0.0.1', () => process.stdout.write(`CPU ${(cpu.address() as AddressInfo).port}\n`));
cpu.unref();

serveContender(build);
