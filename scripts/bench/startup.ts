/**
 * Start-up: from spawning the process to the first `GET /healthz` = 200, for bare Express (the
 * baseline: Node and Express loading) and for Warden as `npm start` runs it (`node --import tsx
 * src/main.ts`), on a real PostgreSQL (a database of its own on DATABASE_URL's server) and on the
 * embedded one. The first start creates the schema and the first org; the restarts that follow
 * find their data present, as a rolling restart does. BENCH_STARTS (default 3) restarts each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { adminQuery } from './bench-database';

const STARTS = Number(process.env.BENCH_STARTS ?? 3);
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
  const database = `warden_bench_startup_${process.pid}`;
  if (serverUrl) await adminQuery(serverUrl, `CREATE DATABASE ${database}`);
  try {
    const warden = ['--import', 'tsx', 'src/main.ts'];
    const contenders: Contender[] = [
      { name: 'bare-express', args: ['-e', BARE_EXPRESS], env: {} },
      ...(serverUrl ? [{ name: 'warden, real PostgreSQL', args: warden, env: { DATABASE_URL: databaseUrl(serverUrl, database) } }] : []),
      { name: 'warden, embedded', args: warden, env: { DATABASE_URL: '', WARDEN_DATA_DIR: dataDir } },
    ];
    const rows: string[][] = [];
    let baseline = 0;
    for (const contender of contenders) {
      const first = await timeToHealthy(contender);
      const restarts: number[] = [];
      for (let start = 0; start < STARTS; start++) restarts.push(await timeToHealthy(contender));
      const restart = median(restarts);
      if (contender.name === 'bare-express') baseline = restart;
      process.stdout.write(`  measured ${contender.name}: first ${seconds(first)} s, restart ${seconds(restart)} s\n`);
      rows.push([contender.name, seconds(first), seconds(restart), `${(restart / baseline).toFixed(1)}x`]);
    }
    printTable(['contender', 'first start s', 'restart s', 'vs bare'], rows);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    if (serverUrl) await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${database}`);
  }
}

/** Milliseconds from spawn to the first 200 from /healthz; the process is stopped and awaited after. */
async function timeToHealthy(contender: Contender): Promise<number> {
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
      if (healthy) return performance.now() - started;
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const seconds = (ms: number) => (ms / 1000).toFixed(2);
