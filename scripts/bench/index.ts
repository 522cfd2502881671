/**
 * `npm run bench`: the same trivial validated POST served by bare Express (the baseline), Express
 * with the stock openapi-backend, Express with express-openapi-validator, and Warden's binding
 * layer; each with Warden's real spec and with that spec padded by 300 synthetic operations.
 * Each server runs alone in a child process; autocannon loads it from this process over
 * 127.0.0.1. Prints requests/s, p50/p99 latency and the ratio to bare Express on the same spec.
 *
 * BENCH_DURATION (seconds per run, default 8) and BENCH_CONNECTIONS (default 32) tune it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { BENCH_BODY, BENCH_PATH, CONTENDERS, type Contender } from './bench-spec';

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PADDINGS = [0, 300];

interface Result {
  contender: Contender;
  padding: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function measure(contender: Contender, padding: number): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'contender-server.ts'), contender, String(padding)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
        const match = /LISTENING (\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`${contender} exited with ${code} before listening`)));
    });
    const options = {
      url: `http://127.0.0.1:${port}${BENCH_PATH}`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(BENCH_BODY),
      connections: CONNECTIONS,
    };
    await autocannon({ ...options, duration: 1 }); // warm-up: JIT and connection set-up
    const result = await autocannon({ ...options, duration: DURATION });
    return {
      contender,
      padding,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
    };
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
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
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));

  const warden = (padding: number) => results.find((result) => result.contender === 'warden' && result.padding === padding)!;
  const flatness = warden(300).requestsPerSecond / warden(0).requestsPerSecond;
  console.log(`\nWarden with 300 extra operations vs the real spec: ${flatness.toFixed(2)}x`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
