/**
 * One contender of the database-backed benches, alone in its own process:
 * `authenticated-server.ts <warden|bare-express-pg> <database url> <schema or -> <pool size>`.
 * Both serve the same two routes the same way:
 * - GET /api/v1/orgs/{org_id}/workspaces/{id} with an API key: look the key up by SHA-256
 *   digest, check it is live and holds workspace.read, read the workspace by primary key;
 * - POST /api/v1/installations/{id}/lease with a runtime token: look the token up by digest,
 *   check it is current, unexpired and not shut down, update the lease, answer the lease.
 * Prints `LISTENING <port>`.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { Pool } from 'pg';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { openDatabase, quoteIdentifier } from '../../src/db/database';
import { createLogger } from '../../src/logging/logger';

export const AUTHENTICATED_CONTENDERS = ['bare-express-pg', 'warden'] as const;
export type AuthenticatedContender = (typeof AUTHENTICATED_CONTENDERS)[number];

async function build(contender: AuthenticatedContender, url: string, schema: string | undefined, poolSize: number): Promise<Express> {
  if (contender === 'warden') {
    const database = await openDatabase({ kind: 'server', url, poolSize, schema }, { migrate: false });
    // Per-request logs at info would be the biggest cost here; the baseline logs nothing either.
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
  app.get('/api/v1/orgs/:org_id/workspaces/:id', async (req, res, next) => {
    try {
      const secret = req.get('x-api-key');
      if (!secret) return void res.status(401).json({ error: 'unauthorized' });
      const digest = createHash('sha256').update(secret).digest();
      const { rows: keys } = await pool.query(
        `SELECT k.org_id, k.permissions, k.expires_at, k.revoked_at, s.retires_at FROM api_key_secrets s
         JOIN api_keys k ON k.id = s.api_key_id JOIN orgs o ON o.id = k.org_id WHERE s.secret_digest = $1`,
        [digest],
      );
      const key = keys[0];
      if (!key || key.revoked_at || key.expires_at <= new Date() || (key.retires_at && key.retires_at <= new Date())) {
        return void res.status(401).json({ error: 'unauthorized' });
      }
      if (!key.permissions.includes('workspace.read')) return void res.status(403).json({ error: 'forbidden' });
      if (key.org_id !== req.params.org_id) return void res.status(404).json({ error: 'not_found' });
      const { rows } = await pool.query(`SELECT * FROM workspaces WHERE id = $1 AND org_id = $2`, [req.params.id, key.org_id]);
      if (!rows[0]) return void res.status(404).json({ error: 'not_found' });
      const row = rows[0];
      res.json({ ...row, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() });
    } catch (error) {
      next(error);
    }
  });
  app.post('/api/v1/installations/:id/lease', express.json(), async (req, res, next) => {
    try {
      const token = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
      if (!token) return void res.status(401).json({ error: 'unauthorized' });
      const { rows: tokens } = await pool.query(
        `SELECT t.expires_at, t.token_version = i.token_version AS current, i.id
         FROM runtime_tokens t JOIN installations i ON i.id = t.installation_id WHERE t.token_digest = $1`,
        [createHash('sha256').update(token).digest()],
      );
      const found = tokens[0];
      if (!found?.current || found.expires_at <= new Date()) return void res.status(401).json({ error: 'unauthorized' });
      if (found.id !== req.params.id) return void res.status(403).json({ error: 'forbidden' });
      const { rows } = await pool.query(
        `UPDATE installations i SET reported_status = $2, heartbeat_interval = COALESCE($3, i.heartbeat_interval),
           health_payload = COALESCE($4, i.health_payload),
           lease_expires_at = now() + make_interval(secs => 3 * COALESCE($3, i.heartbeat_interval)), last_lease_at = now()
         FROM agents a WHERE i.id = $1 AND a.id = i.agent_id
         RETURNING i.lease_expires_at, i.heartbeat_interval, i.revoked_at, a.status AS agent_status`,
        [req.params.id, req.body?.status ?? 'running', req.body?.heartbeat_interval_seconds ?? null, req.body?.health_payload ?? null],
      );
      const lease = rows[0];
      res.json({
        installation_id: req.params.id,
        lease_expires_at: lease.lease_expires_at.toISOString(),
        next_heartbeat_at: new Date(Date.now() + lease.heartbeat_interval * 1000).toISOString(),
        command: lease.revoked_at || lease.agent_status !== 'active' ? { type: 'shutdown', reason: 'stopped', timeout_ms: 0 } : null,
      });
    } catch (error) {
      next(error);
    }
  });
  return app;
}

async function main(): Promise<void> {
  const [contender, url, schema, poolSize] = process.argv.slice(2);
  const app = await build(contender as AuthenticatedContender, url!, schema === '-' ? undefined : schema, Number(poolSize));
  // Exit normally on the bench's SIGTERM, so `node --cpu-prof` can write its profile.
  process.on('SIGTERM', () => process.exit(0));
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
