/**
 * Start-up: from spawning the process to the first `GET /healthz` = 200, for bare Express (the
 * baseline: Node and Express loading) and for Warden as `npm start` runs it (`node
 * scripts/start.js`), on a real PostgreSQL (a database of its own on DATABASE_URL's server), there
 * again with the spec padded by 300 synthetic operations (compiled beforehand, as generate would),
 * and on the embedded database. The first start creates the schema and the first org; the
 * restarts that follow find their data present, as a rolling restart does. BENCH_STARTS (default
 * 3) restarts each. Beside the wall time, the CPU time the process spent until it was healthy
 * (from /proc), which a busy machine disturbs less.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCompiledSpec } from '../../src/binding/loaded-spec';
import { GENERATED_DIR, PROJECT_ROOT } from '../../src/config/paths';
import { adminQuery } from './bench-database';
import { benchSpec } from './bench-spec';

const STARTS = Number(process.env.BENCH_STARTS ?? 3);
const PADDING = 300;
const BARE_EXPRESS = `require('express')().get('/healthz', (_req, res) => res.json({ status: 'ok' })).listen(Number(process.env.PORT), '127.0.0.1');`;

interface Contender {
  name: string;
  args: string[];
  env: Record<string, string>;
}

export async function startupScenarios(printTable: (header: string[], rows: string[][]) => void): Promise<void> {
  const serverUrl = process.env.DATABASE_URL || undefined;
  console.log(`\nStart-up: spawn → GET /healthz 200, ${STARTS} restarts each after a first start (median shown)\n`);
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-startup-'));
  const paddedDir = join(dataDir, 'padded-spec');
  await compilePaddedSpec(paddedDir);
  const database = `warden_bench_startup_${process.pid}`;
  if (serverUrl) await adminQuery(serverUrl, `CREATE DATABASE ${database}`);
  try {
    const warden = ['scripts/start.js'];
    const padded = ['scripts/start.js', 'scripts/bench/padded-server.ts'];
    const server = serverUrl ? { DATABASE_URL: databaseUrl(serverUrl, database) } : undefined;
    const contenders: Contender[] = [
      { name: 'bare-express', args: ['-e', BARE_EXPRESS], env: {} },
      ...(server
        ? [
            { name: 'warden, real PostgreSQL', args: warden, env: server },
            { name: `warden, real PostgreSQL, spec +${PADDING} ops`, args: padded, env: { ...server, WARDEN_BENCH_SPEC_DIR: paddedDir } },
          ]
        : []),
      { name: 'warden, embedded', args: warden, env: { DATABASE_URL: '', WARDEN_DATA_DIR: dataDir } },
    ];
    const rows: string[][] = [];
    let baseline = 0;
    for (const contender of contenders) {
      const first = await timeToHealthy(contender);
      const restarts: Start[] = [];
      for (let start = 0; start < STARTS; start++) restarts.push(await timeToHealthy(contender));
      const restart = median(restarts.map((start) => start.wallMs));
      const cpu = median(restarts.map((start) => start.cpuMs));
      if (contender.name === 'bare-express') baseline = restart;
      process.stdout.write(`  measured ${contender.name}: first ${seconds(first.wallMs)} s, restart ${seconds(restart)} s\n`);
      rows.push([contender.name, seconds(first.wallMs), seconds(restart), seconds(cpu), `${(restart / baseline).toFixed(1)}x`]);
    }
    printTable(['contender', 'first start s', 'restart s', 'restart CPU s', 'vs bare'], rows);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    if (serverUrl) await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${database}`);
  }
}

/** The published spec padded with synthetic operations, laid out and compiled as generate lays out generated/. */
async function compilePaddedSpec(folder: string): Promise<void> {
  const spec = benchSpec(PADDING);
  mkdirSync(join(folder, 'docs'), { recursive: true });
  writeFileSync(join(folder, 'openapi.json'), JSON.stringify(spec));
  writeFileSync(join(folder, 'openapi.yaml'), readFileSync(join(GENERATED_DIR, 'openapi.yaml')));
  cpSync(join(GENERATED_DIR, 'docs'), join(folder, 'docs'), { recursive: true });
  await writeCompiledSpec(spec, join(folder, 'binding'));
}

interface Start {
  wallMs: number;
  /** CPU (user + system) the process had used when it first answered. */
  cpuMs: number;
}

/** From spawn to the first 200 from /healthz; the process is stopped and awaited after. */
async function timeToHealthy(contender: Contender): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, contender.args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...contender.env, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${contender.name} exited with ${child.exitCode} before it was healthy`);
      const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (res) => res.status === 200,
        () => false,
      );
      if (healthy) return { wallMs: performance.now() - started, cpuMs: cpuMsOf(child.pid!) };
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await stop(child);
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** utime + stime of a Linux process, in clock ticks of 10 ms. */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const seconds = (ms: number) => (ms / 1000).toFixed(2);
