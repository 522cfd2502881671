/**
 * Gateway overhead: an agent's GET to a vendor on 127.0.0.1, made directly, through a bare Node
 * reverse proxy (no checks), and through Warden's gateway (gateway key, kill switch, three
 * policies, the daily budget counted, the vendor credential injected, a billing event and an audit
 * event per call; the key, the agent's governance and the decrypted credential remembered in
 * process and verified by the one statement per call, the budget reservation, which carries the
 * kill switch and key revocation too). Prints requests/s, the ratios, and the p50 latency Warden
 * adds over direct. The fixture (policies, agent, vendor, gateway key) is created through the API.
 */
import { Db } from '../../src/db/db';
import { benchOrgWithKey, fixturePoster, governedBenchAgent, withBenchDatabase } from './bench-database';
import { CONNECTIONS, DURATION, hammer, type Load, load, type Measured, printTable, startServer } from './load';

const VENDOR_PATH = '/v1/chat/completions';

export async function gatewayScenario(): Promise<void> {
  console.log(`\nGateway: GET ${VENDOR_PATH} to an upstream on 127.0.0.1, autocannon -c${CONNECTIONS} -d${DURATION}s\n`);
  const upstream = await startServer('gateway-server.ts', ['upstream']);
  try {
    const rows: Array<[string, Measured]> = [];
    rows.push(['direct', await hammer(upstream.port, { path: VENDOR_PATH, method: 'GET' })]);
    const proxied: Load = { path: `/api/v1/gateway/vnd_bench${VENDOR_PATH}`, method: 'GET' };
    rows.push(['bare node proxy', await load('gateway-server.ts', ['bare-proxy', String(upstream.port)], proxied)]);
    const warden = await wardenGateway(upstream.port);
    if (warden) rows.push(['warden gateway', warden]);
    for (const [name, measured] of rows) process.stdout.write(`  measured ${name}: ${Math.round(measured.requestsPerSecond)} req/s\n`);
    const [direct, bare] = [rows[0]![1], rows[1]![1]];
    printTable(
      ['contender', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs bare proxy', 'p50 over direct ms', 'non-2xx'],
      rows.map(([name, r]) => [
        name,
        String(Math.round(r.requestsPerSecond)),
        String(r.p50),
        String(r.p99),
        `${(r.requestsPerSecond / direct.requestsPerSecond).toFixed(2)}x`,
        `${(r.requestsPerSecond / bare.requestsPerSecond).toFixed(2)}x`,
        (r.p50 - direct.p50).toFixed(1),
        String(r.non2xx),
      ]),
    );
  } finally {
    upstream.stop();
  }
}

/** Warden's gateway, measured on a real Postgres (DATABASE_URL), which serves the bench and the fixture at once. */
async function wardenGateway(upstreamPort: number): Promise<Measured | undefined> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.log('  Warden gateway: skipped - it needs DATABASE_URL (a real Postgres serves the bench and the fixture at once).');
    return undefined;
  }
  return withBenchDatabase('gateway', 2, async (database, schema) => {
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
      return await hammer(server.port, {
        path: `/api/v1/gateway/${String(vendor.id)}${VENDOR_PATH}`,
        method: 'GET',
        headers: { authorization: `Bearer ${secret}`, 'x-warden-cost-usd': '0.000001' },
      });
    } finally {
      server.stop();
    }
  });
}
