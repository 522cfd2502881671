/**
 * One contender of the decisions bench, alone in its own process:
 * `decisions-server.ts <warden|bare-express-pg> <database url> <schema or -> <pool size>`.
 * - warden: Warden's whole app; `POST /api/v1/decisions` runs the one evaluator and meters the
 *   ruling (a billing event and an audit event per decision);
 * - bare-express-pg: Express + pg doing the same two look-ups and one budget update with the
 *   statements Warden's stores use (the agent by its secret's digest, the agent's policies, the
 *   day's reservation), the same pure evaluator, and nothing else: no billing event, no audit.
 * Prints `LISTENING <port>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import { Pool } from 'pg';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { openDatabase, quoteIdentifier } from '../../src/db/database';
import { microsToUsd, usdToMicros } from '../../src/lib/money';
import { createLogger } from '../../src/logging/logger';
import { evaluatePolicies, GOVERNANCE_OF_AGENT, toEffective } from '../../src/modules/policies';
import { serveContender } from './serve-contender';

const AGENT_BY_SECRET = `SELECT a.id, a.org_id, a.daily_budget,
    (a.status = 'revoked' OR (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now()))) AS stopped
  FROM agents a WHERE a.secret_digest = $1`;
const RESERVE = `INSERT INTO agent_daily_spend AS s (org_id, agent_id, day, spent_micros)
  SELECT $1, $2, $3::date, $4::bigint WHERE $5::bigint IS NULL OR $4::bigint <= $5::bigint
  ON CONFLICT (agent_id, day) DO UPDATE SET spent_micros = s.spent_micros + EXCLUDED.spent_micros
  WHERE s.org_id = EXCLUDED.org_id AND ($5::bigint IS NULL OR s.spent_micros + EXCLUDED.spent_micros <= $5::bigint)
  RETURNING spent_micros`;

async function build(contender: string, url: string, schema: string | undefined, poolSize: number): Promise<Express> {
  if (contender === 'warden') {
    const database = await openDatabase({ kind: 'server', url, poolSize, schema }, { migrate: false });
    const env = { ...process.env, WARDEN_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const config = { ...loadConfig(env), logLevel: 'warn' as const };
    return (await createApp({ config, database, logger: createLogger(config.logLevel) })).app;
  }
  const pool = new Pool({
    connectionString: url,
    max: poolSize,
    options: schema ? `-c search_path=${quoteIdentifier(schema)}` : undefined,
  });
  const app = express();
  app.disable('x-powered-by');
  app.post('/api/v1/decisions', express.json(), async (req, res, next) => {
    try {
      const secret = req.get('x-agent-secret');
      if (!secret) return void res.status(401).json({ error: 'unauthorized' });
      const { rows: agents } = await pool.query(AGENT_BY_SECRET, [createHash('sha256').update(secret).digest()]);
      const agent = agents[0];
      if (!agent || agent.stopped) return void res.status(401).json({ error: 'unauthorized' });
      const { rows } = await pool.query(GOVERNANCE_OF_AGENT, [agent.org_id, agent.id]);
      const policies = rows[0].policies.map(toEffective);
      const { method, path, action, cost_usd: costUsd = 0 } = req.body;
      const costMicros = usdToMicros(costUsd);
      const verdict = evaluatePolicies(policies, { action: action ?? `${method} ${path}`, method, path, costMicros });
      const budget = agent.daily_budget === null ? null : usdToMicros(Number(agent.daily_budget));
      let decision: string = verdict.outcome;
      let remaining: number | null = null;
      if (verdict.outcome === 'allow') {
        const day = new Date().toISOString().slice(0, 10);
        const { rows: spent } = await pool.query(RESERVE, [agent.org_id, agent.id, day, costMicros, budget]);
        if (!spent[0]) decision = 'deny';
        else remaining = budget === null ? null : microsToUsd(budget - Number(spent[0].spent_micros));
      }
      res.json({
        decision,
        policy_id: verdict.policyId,
        policy_version: verdict.policyVersion,
        deny_reason: verdict.denyReason,
        budget_remaining_usd: remaining,
      });
    } catch (error) {
      next(error);
    }
  });
  return app;
}

serveContender(build);
