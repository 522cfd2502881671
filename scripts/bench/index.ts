/**
 * `npm run bench`: the same trivial validated POST served by bare Express (the baseline), Express
 * with the stock openapi-backend, Express with express-openapi-validator, and Warden's binding
 * layer; each with Warden's real spec and with that spec padded by 300 synthetic operations.
 * Each server runs alone in a child process, bundled as `npm start` runs Warden (scripts/start.js);
 * autocannon loads it from this process over 127.0.0.1. Prints requests/s, p50/p99 latency and the ratio to bare Express on the same spec.
 * Then two database-backed scenarios, an authenticated GET (API key, permission, one read) and a
 * lease renewal (runtime token, lease update), through Warden's whole app against bare Express
 * + pg issuing the same queries. Last, start-up time (scripts/bench/startup.ts).
 *
 * BENCH_DURATION (seconds per run, default 8) and BENCH_CONNECTIONS (default 32) tune it;
 * BENCH_ONLY=binding, =database, =audit or =startup runs one part; BENCH_AUDIT_EVENTS (default 1,000,000)
 * sets the length of the chain the audit part verifies.
 */
import { spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import autocannon from 'autocannon';
import { digestSecret, newSecret } from '../../src/auth/credentials';
import { PROJECT_ROOT } from '../../src/config/paths';
import { Db } from '../../src/db/db';
import { newId } from '../../src/db/ids';
import { ApiKeyService } from '../../src/modules/api-keys';
import { OrgService } from '../../src/modules/orgs';
import { OwnerGuard } from '../../src/modules/rbac';
import { auditScenarios } from './audit';
import { withBenchDatabase } from './bench-database';
import { AUTHENTICATED_CONTENDERS, BENCH_BODY, BENCH_PATH, CONTENDERS, type Contender } from './bench-spec';
import { startupScenarios } from './startup';

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PADDINGS = [0, 300];
const ONLY = process.env.BENCH_ONLY;

interface Result {
  contender: Contender;
  padding: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

type Load = Pick<autocannon.Options, 'method' | 'headers' | 'body'> & { path: string };

/** Starts a server script in a child process, loads it with autocannon after a warm-up, stops it. */
async function load(script: string, args: string[], request: Load): Promise<Omit<Result, 'contender' | 'padding'>> {
  // Bundled as `npm start` runs Warden (scripts/start.js), not through tsx, whose keepNames helpers
  // would add a call to every closure each contender creates per request.
  const entry = relative(PROJECT_ROOT, join(__dirname, script));
  const child = spawn(process.execPath, ['scripts/start.js', entry, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
        const match = /LISTENING (\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`${script} ${args[0]} exited with ${code} before listening`)));
    });
    const { path, ...rest } = request;
    const options = { url: `http://127.0.0.1:${port}${path}`, ...rest, connections: CONNECTIONS };
    // Warm-up: JIT, connection set-up, and the collection of start-up garbage (a fixture spec
    // compiled on the fly leaves much; 1 s left the padded spec's measurement paying for it).
    await autocannon({ ...options, duration: 3 });
    const result = await autocannon({ ...options, duration: DURATION });
    return {
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
    };
  } finally {
    child.kill();
  }
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
    const orgs = new OrgService(db, 'http://localhost');
    const { orgId, key, workspaceId, installationId, runtimeToken } = await db.transaction(async () => {
      const org = await orgs.create('Bench org', 'enterprise');
      const apiKey = await new ApiKeyService(db, orgs, new OwnerGuard(db, orgs)).insert({
        orgId: org.id,
        createdBy: null,
        name: 'bench',
        description: '',
        mode: 'live',
        permissions: ['workspace.read'],
        expiresAt: new Date(Date.now() + 86_400_000),
      });
      const workspaceId = newId('ws');
      await db.query(`INSERT INTO workspaces (id, org_id, name) VALUES ($1, $2, 'bench')`, [workspaceId, org.id]);
      const agentId = newId('agt');
      const installationId = newId('inst');
      const runtimeToken = newSecret('srt');
      await db.query(`INSERT INTO agents (id, org_id, workspace_id, name) VALUES ($1, $2, $3, 'bench')`, [agentId, org.id, workspaceId]);
      await db.query(`INSERT INTO installations (id, org_id, workspace_id, agent_id, heartbeat_interval) VALUES ($1, $2, $3, $4, 60)`, [
        installationId,
        org.id,
        workspaceId,
        agentId,
      ]);
      await db.query(
        `INSERT INTO runtime_tokens (token_digest, installation_id, token_version, expires_at) VALUES ($1, $2, 1, now() + interval '90 days')`,
        [digestSecret(runtimeToken), installationId],
      );
      return { orgId: org.id, key: apiKey.key, workspaceId, installationId, runtimeToken };
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
      const rows: Array<[string, Omit<Result, 'contender' | 'padding'>]> = [];
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

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  if (!ONLY || ONLY === 'binding') await bindingScenarios();
  if (!ONLY || ONLY === 'database') await databaseScenarios();
  if (!ONLY || ONLY === 'audit') await auditScenarios();
  if (!ONLY || ONLY === 'startup') await startupScenarios(printTable);
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
