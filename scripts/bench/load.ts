import { type ChildProcess, spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import autocannon from 'autocannon';
import { PROJECT_ROOT } from '../../src/config/paths';

export const DURATION = Number(process.env.BENCH_DURATION ?? 8);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

export type Load = Pick<autocannon.Options, 'method' | 'headers' | 'body'> & { path: string };

export interface Measured {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

export interface StartedServer {
  port: number;
  /** Its `LISTENING <port>` line and anything it printed after, for values a server reports. */
  output(): string;
  stop(): void;
}

/** Starts a bench server script in a child process; resolves once it prints `LISTENING <port>`. */
export async function startServer(script: string, args: string[]): Promise<StartedServer> {
  // Bundled as `npm start` runs Warden (scripts/start.js), not through tsx, whose keepNames helpers
  // would add a call to every closure each contender creates per request.
  const entry = relative(PROJECT_ROOT, join(__dirname, script));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      'scripts/start.js',
      entry,
      ...args,
    ],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk) => {
        output += chunk;
        const match = /LISTENING (\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`${script} ${args[0]} exited with ${code} before listening`)));
    });
    return { port, output: () => output, stop: () => child.kill() };
  } catch (error) {
    child.kill();
    throw error;
  }
}

/** Loads a listening server with autocannon after a warm-up. */
export async function hammer(port: number, request: Load): Promise<Measured> {
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
}

/** Starts a server script in a child process, loads it with autocannon after a warm-up, stops it. */
export async function load(script: string, args: string[], request: Load): Promise<Measured> {
  const server = await startServer(script, args);
  try {
    return await hammer(server.port, request);
  } finally {
    server.stop();
  }
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}
