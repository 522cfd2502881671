/**
 * `npm run bench`: the same trivial validated POST served by bare Express (the baseline), Express
 * with the stock openapi-backend, Express with express-openapi-validator, and Warden's binding
 * layer; each with Warden's real spec and with that spec padded by 300 synthetic operations.
 * Each server runs alone in a child process, bundled as `npm start` runs Warden (scripts/start.js);
 * autocannon loads it from this process over 127.0.0.1. Prints requests/s, p50/p99 latency and the ratio to bare Express on the same spec.
 * Then two database-backed scenarios, an authenticated GET (API key, permission, one read) and a
 * lease renewal (runtime token, lease update), through Warden's whole app against bare Express
 * + pg issuing the same queries. Then start-up time (scripts/bench/startup.ts), and last the gateway's
 * overhead on a call to a local upstream (scripts/bench/gateway.ts), the decisions endpoint, and job claims
 * draining a queue (scripts/bench/jobs.ts).
 *
 * BENCH_DURATION (seconds per run, default 8) and BENCH_CONNECTIONS (default 32) tune it;
 * BENCH_ONLY=binding, =database, =audit, =startup, =gateway, =decisions or =jobs runs one part; BENCH_AUDIT_EVENTS (default 1,000,000)
 * sets the length of the chain the audit part verifies.
 */
import { digestSecret, newSecret } from '../../src/auth/credentials';
import { Db } from '../../src/db/db';
import { newId } from '../../src/db/ids';
import { auditScenarios } from './audit';
import { benchOrgWithKey, withBenchDatabase } from './bench-database';
import { AUTHENTICATED_CONTENDERS, BENCH_BODY, BENCH_PATH, CONTENDERS, type Contender } from './bench-spec';
import { decisionsScenario } from './decisions';
import { gatewayScenario } from './gateway';
import { jobsScenario } from './jobs';
import { CONNECTIONS, DURATION, type Load, load, type Measured, printTable } from './load';
import { startupScenarios } from './startup';

const PADDINGS = [0, 300];
const ONLY = process.env.BENCH_ONLY;

interface Result extends Measured {
  contender: Contender;
  padding: number;
}

async function measure(contender: Contender, padding: number): Promise<Result> {
  const measured = await load('contender-server.ts', [contender, String(padding)], {
    path: BENCH_PATH,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(BENCH_BODY),
  });
  return { contender, padding, ...measured };
}

/**
 * Two database-backed scenarios through Warden's whole app and through bare Express + pg issuing
 * the same queries, on one database (DATABASE_URL when set, else the embedded one, whose single
 * session the contenders then take in turn):
 * - authenticated GET: API key lookup, permission check, one indexed read;
 * - lease renewal: runtime-token lookup and the lease update.
 */
async function databaseScenarios(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL || undefined;
  await withBenchDatabase('http', 2, async (database, schema) => {
    const { dataSource } = database;
    const db = new Db(dataSource);
    const { orgId, key, workspaceId, installationId, runtimeToken } = await db.transaction(async () => {
      const { orgId, key } = await benchOrgWithKey(db, ['workspace.read']);
      const workspaceId = newId('ws');
      await db.query(`INSERT INTO workspaces (id, org_id, name) VALUES ($1, $2, 'bench')`, [workspaceId, orgId]);
      const agentId = newId('agt');
      const installationId = newId('inst');
      const runtimeToken = newSecret('srt');
      await db.query(`INSERT INTO agents (id, org_id, workspace_id, name) VALUES ($1, $2, $3, 'bench')`, [agentId, orgId, workspaceId]);
      await db.query(`INSERT INTO installations (id, org_id, workspace_id, agent_id, heartbeat_interval) VALUES ($1, $2, $3, $4, 60)`, [
        installationId,
        orgId,
        workspaceId,
        agentId,
      ]);
      await db.query(
        `INSERT INTO runtime_tokens (token_digest, installation_id, token_version, expires_at) VALUES ($1, $2, 1, now() + interval '90 days')`,
        [digestSecret(runtimeToken), installationId],
      );
      return { orgId, key, workspaceId, installationId, runtimeToken };
    });
    // The embedded database serves one session at a time: hand it over to the contenders.
    if (!serverUrl) await dataSource.destroy();
    const poolSize = serverUrl ? 10 : 1;
    const where = `${serverUrl ? 'DATABASE_URL' : 'embedded PGlite (one session)'}, pool ${poolSize}, autocannon -c${CONNECTIONS} -d${DURATION}s`;
    const scenarios: Array<{ title: string; request: Load }> = [
      {
        title: `Authenticated GET /api/v1/orgs/{org_id}/workspaces/{id} (API key lookup + permission check + indexed read), ${where}`,
        request: { path: `/api/v1/orgs/${orgId}/workspaces/${workspaceId}`, method: 'GET', headers: { 'x-api-key': key } },
      },
      {
        title: `Lease renewal POST /api/v1/installations/{id}/lease (runtime-token lookup + lease update), ${where}`,
        request: {
          path: `/api/v1/installations/${installationId}/lease`,
          method: 'POST',
          headers: { authorization: `Bearer ${runtimeToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ status: 'running', heartbeat_interval_seconds: 60, health_payload: { memory_mb: 512 } }),
        },
      },
    ];
    for (const scenario of scenarios) {
      console.log(`\n${scenario.title}\n`);
      const rows: Array<[string, Measured]> = [];
      for (const contender of AUTHENTICATED_CONTENDERS) {
        const measured = await load(
          'authenticated-server.ts',
          [contender, database.url, schema ?? '-', String(poolSize)],
          scenario.request,
        );
        rows.push([contender, measured]);
        process.stdout.write(`  measured ${contender}: ${Math.round(measured.requestsPerSecond)} req/s\n`);
      }
      const baseline = rows[0]![1].requestsPerSecond;
      printTable(
        ['contender', 'req/s', 'p50 ms', 'p99 ms', 'vs bare', 'non-2xx'],
        rows.map(([name, r]) => [
          name,
          String(Math.round(r.requestsPerSecond)),
          String(r.p50),
          String(r.p99),
          `${(r.requestsPerSecond / baseline).toFixed(2)}x`,
          String(r.non2xx),
        ]),
      );
    }
  });
}

async function main(): Promise<void> {
  if (!ONLY || ONLY === 'binding') await bindingScenarios();
  if (!ONLY || ONLY === 'database') await databaseScenarios();
  if (!ONLY || ONLY === 'audit') await auditScenarios();
  if (!ONLY || ONLY === 'startup') await startupScenarios(printTable);
  if (!ONLY || ONLY === 'gateway') await gatewayScenario();
  if (!ONLY || ONLY === 'decisions') await decisionsScenario();
  if (!ONLY || ONLY === 'jobs') await jobsScenario();
}

async function bindingScenarios(): Promise<void> {
  console.log(`Validated JSON POST ${BENCH_PATH}, autocannon -c${CONNECTIONS} -d${DURATION}s, 127.0.0.1, one server process each\n`);
  const results: Result[] = [];
  for (const padding of PADDINGS) {
    for (const contender of CONTENDERS) {
      const result = await measure(contender, padding);
      results.push(result);
      process.stdout.write(`  measured ${contender} (+${padding} operations): ${Math.round(result.requestsPerSecond)} req/s\n`);
    }
  }
  const header = ['contender', 'spec', 'req/s', 'p50 ms', 'p99 ms', 'vs bare', 'non-2xx'];
  const rows = results.map((result) => {
    const baseline = results.find((other) => other.contender === 'bare-express' && other.padding === result.padding)!;
    return [
      result.contender,
      result.padding === 0 ? 'real' : `real+${result.padding}`,
      String(Math.round(result.requestsPerSecond)),
      String(result.p50),
      String(result.p99),
      `${(result.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}x`,
      String(result.non2xx),
    ];
  });
  printTable(header, rows);

  const warden = (padding: number) => results.find((result) => result.contender === 'warden' && result.padding === padding)!;
  const flatness = warden(300).requestsPerSecond / warden(0).requestsPerSecond;
  console.log(`\nWarden with 300 extra operations vs the real spec: ${flatness.toFixed(2)}x`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
