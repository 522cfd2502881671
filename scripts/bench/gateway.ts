/**
 * Gateway overhead: an agent's GET to a vendor on 127.0.0.1, made directly, through a bare Node
 * reverse proxy (no checks), and through Warden's gateway (gateway key, kill switch, three
 * policies, the daily budget counted, the vendor credential injected, a billing event and an audit
 * event per call; the key, the agent's governance and the decrypted credential remembered in
 * process and verified by the one statement per call, the budget reservation, which carries the
 * kill switch and key revocation too). Prints requests/s, the ratios, and the p50 latency Warden
 * adds over direct. The fixture (policies, agent, vendor, gateway key) is created through the API.
 *
 * The three contenders are started once and measured in turn, BENCH_ROUNDS times (default 1) back to
 * back: on a shared machine only the ratios within one round compare like with like.
 */

import autocannon from 'autocannon';
import type { Database } from '../../src/db/database';
import { Db } from '../../src/db/db';
import { benchOrgWithKey, fixturePoster, governedBenchAgent, withBenchDatabase } from './bench-database';
import { CONNECTIONS, DURATION, type Load, type Measured, printTable, type StartedServer, startServer } from './load';

const VENDOR_PATH = '/v1/chat/completions';
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
/** Where each gateway-server.ts process tells its CPU time so far. */
const CPU_PATH = '/__bench/cpu';

/** A measurement, with the CPU the measured server's own process spent per request (µs). */
interface GatewayMeasured extends Measured {
  cpuPerRequestUs: number;
}

async function cpuMicros(port: number): Promise<number> {
  const usage = (await (await fetch(`http://127.0.0.1:${port}${CPU_PATH}`)).json()) as NodeJS.CpuUsage;
  return usage.user + usage.system;
}

/**
 * Loads a listening server with autocannon after a warm-up, as load.ts's hammer does, and reads the
 * server's CPU time around the measured run: on a shared machine, wall-clock figures move with the
 * neighbours' load, the CPU a request costs much less.
 */
async function measure(port: number, request: Load): Promise<GatewayMeasured> {
  const { path, ...rest } = request;
  const options = { url: `http://127.0.0.1:${port}${path}`, ...rest, connections: CONNECTIONS };
  await autocannon({ ...options, duration: 3 });
  const before = await cpuMicros(port);
  const result = await autocannon({ ...options, duration: DURATION });
  const spent = (await cpuMicros(port)) - before;
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
    cpuPerRequestUs: spent / Math.max(1, result.requests.total),
  };
}

export async function gatewayScenario(): Promise<void> {
  console.log(
    `\nGateway: GET ${VENDOR_PATH} to an upstream on 127.0.0.1, autocannon -c${CONNECTIONS} -d${DURATION}s, ${ROUNDS} round(s)\n`,
  );
  const started: StartedServer[] = [];
  try {
    const upstream = await startServer('gateway-server.ts', ['upstream']);
    started.push(upstream);
    const bare = await startServer('gateway-server.ts', ['bare-proxy', String(upstream.port)]);
    started.push(bare);
    const contenders: Array<[string, number, Load]> = [
      ['direct', upstream.port, { path: VENDOR_PATH, method: 'GET' }],
      ['bare node proxy', bare.port, { path: `/api/v1/gateway/vnd_bench${VENDOR_PATH}`, method: 'GET' }],
    ];
    const measureAll = async () => {
      for (let round = 1; round <= ROUNDS; round++) {
        const rows: Array<[string, GatewayMeasured]> = [];
        for (const [name, port, request] of contenders) {
          const measured = await measure(port, request);
          rows.push([name, measured]);
          process.stdout.write(`  round ${round}, measured ${name}: ${Math.round(measured.requestsPerSecond)} req/s\n`);
        }
        printRound(round, rows);
      }
    };
    const serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      console.log('  Warden gateway: skipped - it needs DATABASE_URL (a real Postgres serves the bench and the fixture at once).');
      await measureAll();
      return;
    }
    await withBenchDatabase('gateway', 2, async (database, schema) => {
      const warden = await wardenGateway(database, schema, serverUrl, upstream.port);
      started.push(warden.server);
      contenders.push(['warden gateway', warden.server.port, warden.request]);
      await measureAll();
      // Stopped inside, before its schema is dropped.
      warden.server.stop();
    });
  } finally {
    for (const server of started) server.stop();
  }
}

function printRound(round: number, rows: Array<[string, GatewayMeasured]>): void {
  const [direct, bare] = [rows[0]![1], rows[1]![1]];
  if (ROUNDS > 1) console.log(`\nRound ${round} of ${ROUNDS}`);
  printTable(
    ['contender', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs bare proxy', 'p50 over direct ms', 'CPU µs/req', 'non-2xx'],
    rows.map(([name, r]) => [
      name,
      String(Math.round(r.requestsPerSecond)),
      String(r.p50),
      String(r.p99),
      `${(r.requestsPerSecond / direct.requestsPerSecond).toFixed(2)}x`,
      `${(r.requestsPerSecond / bare.requestsPerSecond).toFixed(2)}x`,
      (r.p50 - direct.p50).toFixed(1),
      String(Math.round(r.cpuPerRequestUs)),
      String(r.non2xx),
    ]),
  );
}

/** Warden's gateway on a real Postgres (DATABASE_URL), which serves the bench and the fixture at once: the server and its call. */
async function wardenGateway(
  database: Database,
  schema: string | undefined,
  serverUrl: string,
  upstreamPort: number,
): Promise<{ server: StartedServer; request: Load }> {
  const { key } = await benchOrgWithKey(new Db(database.dataSource), ['agent.mint', 'vendor.edit', 'gateway_key.edit', 'policy.edit']);
  const server = await startServer('gateway-server.ts', ['warden', String(upstreamPort), serverUrl, schema ?? '-', '10']);
  try {
    const api = fixturePoster(server.port, key);
    const vendor = await api('/api/v1/vendors', {
      name: 'bench vendor',
      base_url: `http://127.0.0.1:${upstreamPort}`,
      api_key: 'bench-vendor-api-key',
      auth_type: 'bearer',
    });
    const agent = await governedBenchAgent(api);
    const secret = (await api('/api/v1/keys', { agent_id: agent.id!, vendor_id: vendor.id! })).key!;
    const request: Load = {
      path: `/api/v1/gateway/${String(vendor.id)}${VENDOR_PATH}`,
      method: 'GET',
      headers: { authorization: `Bearer ${secret}`, 'x-warden-cost-usd': '0.000001' },
    };
    return { server, request };
  } catch (error) {
    server.stop();
    throw error;
  }
}
