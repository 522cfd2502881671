/**
 * `POST /api/v1/decisions` at 32 connections on a real Postgres (DATABASE_URL): an agent with three
 * policies and a daily budget asks about a call, through Warden's whole app and through bare Express
 * + pg doing the same two look-ups and one budget update (scripts/bench/decisions-server.ts). Warden
 * also writes a billing event and an audit event per decision; the baseline does not.
 */
import { Db } from '../../src/db/db';
import { benchOrgWithKey, fixturePoster, governedBenchAgent, withBenchDatabase } from './bench-database';
import { CONNECTIONS, DURATION, hammer, type Load, type Measured, printTable, startServer } from './load';

export async function decisionsScenario(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.log('\nDecisions: skipped - it needs DATABASE_URL (a real Postgres serves both contenders and the fixture).');
    return;
  }
  console.log(`\nDecisions: POST /api/v1/decisions, 3 policies and a daily budget, autocannon -c${CONNECTIONS} -d${DURATION}s, pool 10\n`);
  await withBenchDatabase('decisions', 2, async (database, schema) => {
    const { key } = await benchOrgWithKey(new Db(database.dataSource), ['agent.mint', 'policy.edit']);
    const args = [serverUrl, schema ?? '-', '10'];
    // Warden runs first: the fixture (policies, agent) is made through its API, as a user would.
    const warden = await startServer('decisions-server.ts', ['warden', ...args]);
    let ask: Load;
    let measuredWarden: Measured;
    try {
      ask = await fixture(warden.port, key);
      measuredWarden = await hammer(warden.port, ask);
    } finally {
      warden.stop();
    }
    const bare = await startServer('decisions-server.ts', ['bare-express-pg', ...args]);
    let measuredBare: Measured;
    try {
      measuredBare = await hammer(bare.port, ask);
    } finally {
      bare.stop();
    }
    const rows: Array<[string, Measured]> = [
      ['bare express + pg', measuredBare],
      ['warden', measuredWarden],
    ];
    for (const [name, measured] of rows) process.stdout.write(`  measured ${name}: ${Math.round(measured.requestsPerSecond)} req/s\n`);
    printTable(
      ['contender', 'req/s', 'p50 ms', 'p99 ms', 'vs bare', 'non-2xx'],
      rows.map(([name, r]) => [
        name,
        String(Math.round(r.requestsPerSecond)),
        String(r.p50),
        String(r.p99),
        `${(r.requestsPerSecond / measuredBare.requestsPerSecond).toFixed(2)}x`,
        String(r.non2xx),
      ]),
    );
  });
}

/** The ask every request makes, by an agent under three policies with a budget. */
async function fixture(port: number, key: string): Promise<Load> {
  const agent = await governedBenchAgent(fixturePoster(port, key));
  return {
    path: '/api/v1/decisions',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-agent-secret': agent.secret },
    body: JSON.stringify({ action: 'chat.completions', method: 'POST', path: '/v1/chat/completions', cost_usd: 0.000001 }),
  };
}
