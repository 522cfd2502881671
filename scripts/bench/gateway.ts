/**
 * Gateway overhead: an agent's GET to a vendor on 127.0.0.1, made directly, through a bare Node
 * reverse proxy (no checks), through Warden's binding and GatewayService.forward alone (key and
 * vendor from memory), and through Warden's gateway (gateway key, vendor credential, the whole
 * request path). Prints requests/s, the ratios, and the p50 latency Warden adds over direct.
 * Warden runs only when the published spec serves the gateway; the fixture (org, agent, vendor,
 * gateway key) is created through the API, as a user would.
 */
import publishedSpec from '../../generated/openapi.json';
import { Db } from '../../src/db/db';
import { benchOrgWithKey, withBenchDatabase } from './bench-database';
import { PLUMBING_KEY } from './bench-spec';
import { CONNECTIONS, DURATION, hammer, type Load, load, type Measured, printTable, startServer } from './load';

const GATEWAY_ROUTE = '/api/v1/gateway/{vendor_id}/{path}';
const VENDOR_PATH = '/v1/chat/completions';

export async function gatewayScenario(): Promise<void> {
  console.log(`\nGateway: GET ${VENDOR_PATH} to an upstream on 127.0.0.1, autocannon -c${CONNECTIONS} -d${DURATION}s\n`);
  const upstream = await startServer('gateway-server.ts', ['upstream']);
  try {
    const rows: Array<[string, Measured]> = [];
    rows.push(['direct', await hammer(upstream.port, { path: VENDOR_PATH, method: 'GET' })]);
    const proxied: Load = { path: `/api/v1/gateway/vnd_bench${VENDOR_PATH}`, method: 'GET' };
    rows.push(['bare node proxy', await load('gateway-server.ts', ['bare-proxy', String(upstream.port)], proxied)]);
    const plumbing = { ...proxied, headers: { authorization: `Bearer ${PLUMBING_KEY}` } };
    rows.push(['warden plumbing', await load('gateway-server.ts', ['warden-plumbing', String(upstream.port)], plumbing)]);
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

/** Warden's gateway, measured when it can run: the published spec must serve it, and the fixture must be creatable. */
async function wardenGateway(upstreamPort: number): Promise<Measured | undefined> {
  if (!(GATEWAY_ROUTE in publishedSpec.paths)) {
    console.log(`  Warden gateway: skipped - the published spec has no ${GATEWAY_ROUTE} yet (the gateway module is wired at merge).`);
    return undefined;
  }
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.log('  Warden gateway: skipped - it needs DATABASE_URL (a real Postgres serves the bench and the fixture at once).');
    return undefined;
  }
  return withBenchDatabase('gateway', 2, async (database, schema) => {
    const { key } = await benchOrgWithKey(new Db(database.dataSource), ['agent.mint', 'vendor.edit', 'gateway_key.edit']);
    const server = await startServer('gateway-server.ts', ['warden', String(upstreamPort), serverUrl, schema ?? '-', '10']);
    try {
      const api = async (path: string, body: object): Promise<Record<string, unknown> | undefined> => {
        const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          body: JSON.stringify(body),
        });
        const answer = (await res.json()) as Record<string, unknown>;
        if (res.ok) return answer;
        console.log(`  Warden gateway: skipped - POST ${path} answered ${res.status} ${JSON.stringify(answer)}`);
        return undefined;
      };
      const vendor = await api('/api/v1/vendors', {
        name: 'bench vendor',
        base_url: `http://127.0.0.1:${upstreamPort}`,
        api_key: 'bench-vendor-api-key',
        auth_type: 'bearer',
      });
      const agent = vendor && (await api('/api/v1/agents', { name: 'bench agent' }));
      const gatewayKey = agent && (await api('/api/v1/keys', { agent_id: agent.id, vendor_id: vendor.id }));
      const secret = gatewayKey?.key ?? gatewayKey?.secret;
      if (!vendor || !gatewayKey) return undefined;
      if (typeof secret !== 'string') {
        console.log(`  Warden gateway: skipped - POST /api/v1/keys answered no key field: ${Object.keys(gatewayKey).join(', ')}`);
        return undefined;
      }
      return await hammer(server.port, {
        path: `/api/v1/gateway/${String(vendor.id)}${VENDOR_PATH}`,
        method: 'GET',
        headers: { authorization: `Bearer ${secret}` },
      });
    } finally {
      server.stop();
    }
  });
}
