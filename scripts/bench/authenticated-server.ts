/**
 * One contender of the database-backed benches, alone in its own process:
 * `authenticated-server.ts <warden|bare-express-pg> <database url> <schema or -> <pool size>`.
 * Both serve the same two routes the same way, with the same statements:
 * - GET /api/v1/orgs/{org_id}/workspaces/{id} with an API key: look the key up by SHA-256
 *   digest with its creator's roles, check it is live and holds workspace.read within them,
 *   read the workspace by primary key;
 * - POST /api/v1/installations/{id}/lease with a runtime token: look the token up by digest,
 *   check it is current and unexpired, update the lease, answer it (a shutdown command when the
 *   installation is revoked or its agent stopped).
 * Warden prepares those statements (named, once per connection) on a real server; the baseline
 * sends them unnamed, as a plain `pool.query` does, unless BENCH_BARE_PREPARED=1.
 * Prints `LISTENING <port>`.
 */
import { createHash } from 'node:crypto';
import express, { type Express } from 'express';
import { Pool } from 'pg';
import { createApp } from '../../src/app';
import { builtInRole, rolesAndPermissions } from '../../src/auth/permissions';
import { loadConfig } from '../../src/config/config';
import { openDatabase, quoteIdentifier } from '../../src/db/database';
import { createLogger } from '../../src/logging/logger';
import type { AuthenticatedContender } from './bench-spec';
import { serveContender } from './serve-contender';

/**
 * The statements Warden issues on these two routes, word for word (ApiKeyStore.findCredential,
 * WorkspaceStore.find, InstallationStore.findRuntimeToken and renewLease), so both contenders ask
 * the database for the same work: the key's creator and roles are read too, because a key acts
 * only within its creator's current permissions, and the lease reads whether the agent is stopped.
 */
const API_KEY_LOOKUP = `SELECT k.id, k.org_id, k.created_by, k.permissions, k.expires_at, k.revoked_at, k.last_used_at, k.rate_limit_per_minute,
         s.retires_at, o.plan,
         u.role AS creator_role, COALESCE((
           SELECT json_agg(json_build_object('role_id', ur.role_id, 'name', r.name, 'permissions', r.permissions) ORDER BY ur.id)
           FROM user_roles ur LEFT JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '[]') AS creator_assigned,
         EXISTS (SELECT 1 FROM api_key_devices ad WHERE ad.api_key_id = k.id) AS device_bound, d.id AS device_id,
         d.last_seen_at AS device_seen_at
       FROM api_key_secrets s JOIN api_keys k ON k.id = s.api_key_id JOIN orgs o ON o.id = k.org_id
         LEFT JOIN users u ON u.id = k.created_by AND u.org_id = k.org_id
         LEFT JOIN api_key_devices d ON d.api_key_id = k.id AND d.fingerprint = $2
       WHERE s.secret_digest = $1`;
const WORKSPACE_READ = `SELECT id, org_id, name, description, created_at, updated_at FROM workspaces WHERE id = $1 AND org_id = $2`;
const RUNTIME_TOKEN_LOOKUP = `SELECT t.expires_at, t.token_version = i.token_version AS current, i.id, i.org_id, i.agent_id
       FROM runtime_tokens t JOIN installations i ON i.id = t.installation_id WHERE t.token_digest = $1`;
const AGENT_STOPPED = `(a.status = 'revoked' OR (a.status = 'disabled' AND (a.disabled_until IS NULL OR a.disabled_until > now())))`;
const LEASE_UPDATE = `UPDATE installations i SET
         reported_status = $2,
         heartbeat_interval = COALESCE($3, i.heartbeat_interval),
         health_payload = COALESCE($4, i.health_payload),
         lease_expires_at = now() + make_interval(secs => 3 * COALESCE($3, i.heartbeat_interval)),
         last_lease_at = now()
       FROM agents a WHERE i.id = $1 AND a.id = i.agent_id
       RETURNING i.workspace_id, i.lease_expires_at, i.heartbeat_interval, i.revoked_at, i.revoke_reason, i.shutdown_timeout_ms,
         a.status AS agent_status, a.disabled_reason, ${AGENT_STOPPED} AS agent_stopped`;
const OWNER_PERMISSIONS: ReadonlySet<string> = new Set(builtInRole('owner')!.permissions);

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
  // BENCH_BARE_PREPARED=1: the baseline prepares its statements too (named, as Warden does on a real server).
  const names = new Map([API_KEY_LOOKUP, WORKSPACE_READ, RUNTIME_TOKEN_LOOKUP, LEASE_UPDATE].map((text, index) => [text, `bare_${index}`]));
  const prepared = process.env.BENCH_BARE_PREPARED === '1';
  const statement = (text: string, values: unknown[]) => pool.query(prepared ? { name: names.get(text), text, values } : { text, values });
  const app = express();
  app.disable('x-powered-by');
  app.get('/api/v1/orgs/:org_id/workspaces/:id', async (req, res, next) => {
    try {
      const secret = req.get('x-api-key');
      if (!secret) return void res.status(401).json({ error: 'unauthorized' });
      const { rows: keys } = await statement(API_KEY_LOOKUP, [createHash('sha256').update(secret).digest(), null]);
      const key = keys[0];
      const now = new Date();
      if (!key || key.revoked_at || (key.created_by !== null && key.creator_role === null)) {
        return void res.status(401).json({ error: 'unauthorized' });
      }
      if (key.expires_at <= now || (key.retires_at && key.retires_at <= now)) return void res.status(401).json({ error: 'unauthorized' });
      if (key.device_bound && key.device_id === null) return void res.status(401).json({ error: 'device_not_bound' });
      // The key's own permissions, bounded by its creator's roles as they are now (the owner role without a creator).
      const bound = key.creator_role === null ? OWNER_PERMISSIONS : rolesAndPermissions(key.creator_role, key.creator_assigned).permissions;
      if (!key.permissions.includes('workspace.read') || !bound.has('workspace.read')) {
        return void res.status(403).json({ error: 'forbidden' });
      }
      if (key.org_id !== req.params.org_id) return void res.status(404).json({ error: 'not_found' });
      const { rows } = await statement(WORKSPACE_READ, [req.params.id, key.org_id]);
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
      const { rows: tokens } = await statement(RUNTIME_TOKEN_LOOKUP, [createHash('sha256').update(token).digest()]);
      const found = tokens[0];
      if (!found?.current || found.expires_at <= new Date()) return void res.status(401).json({ error: 'unauthorized' });
      if (found.id !== req.params.id) return void res.status(403).json({ error: 'forbidden' });
      const { rows } = await statement(LEASE_UPDATE, [
        req.params.id,
        req.body?.status ?? 'running',
        req.body?.heartbeat_interval_seconds ?? null,
        req.body?.health_payload ?? null,
      ]);
      const lease = rows[0];
      res.json({
        installation_id: req.params.id,
        lease_expires_at: lease.lease_expires_at.toISOString(),
        next_heartbeat_at: new Date(Date.now() + lease.heartbeat_interval * 1000).toISOString(),
        command: lease.revoked_at
          ? {
              type: 'shutdown',
              reason: lease.revoke_reason,
              timeout_ms: Math.max(0, lease.revoked_at.getTime() + lease.shutdown_timeout_ms - Date.now()),
            }
          : lease.agent_stopped
            ? {
                type: 'shutdown',
                reason: lease.agent_status === 'revoked' ? 'agent revoked' : `agent disabled: ${lease.disabled_reason}`,
                timeout_ms: 0,
              }
            : null,
      });
    } catch (error) {
      next(error);
    }
  });
  return app;
}

serveContender((contender, url, schema, poolSize) => build(contender as AuthenticatedContender, url, schema, poolSize));
