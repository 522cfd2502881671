import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../config/paths';

export interface EmbeddedPostgres {
  /** A postgres:// URL of the Unix socket that the ordinary `pg` driver connects to. */
  url: string;
  /** The Unix socket itself. */
  socketPath: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (Postgres compiled to WebAssembly) behind its wire-protocol socket server, so
 * Warden talks to it through `pg` exactly as it talks to a real server. PGlite is a single
 * session: the server takes one connection, and callers must use a pool of one.
 *
 * Both run on a worker thread: PGlite's second of start-up then overlaps the loading of the rest
 * of Warden (see src/main.ts), and its queries never hold up the event loop that serves requests.
 *
 * @param dataDir a directory to keep the data in, or `undefined` for a throw-away in-memory database
 */
const SOCKET_PORT = 5432;

/**
 * V8 optimizes a WebAssembly function (TurboFan, on other threads) once it has run for this budget
 * (V8's default is 1.8 million, roughly bytes of code run). Postgres's start-up runs much of its code
 * a little, so the default had V8 optimizing, only to discard, a fifth of a restart's CPU; a hundred
 * times the default leaves start-up in baseline code, and optimizes what queries keep running.
 */
const WASM_TIERING_BUDGET = 180_000_000;

/** The worker's whole program: plain CommonJS, resolving PGlite from the project wherever the process runs. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// A V8 flag is the process's, but PGlite is the only WebAssembly that Warden runs hot.
require('node:v8').setFlagsFromString('--wasm-tiering-budget=' + workerData.wasmTieringBudget);
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const load = require('node:module').createRequire(workerData.packageJson);
(async () => {
  // PGlite reads and compiles its WebAssembly only once its JavaScript has loaded and its files are
  // unpacked; begun first, V8 compiles it on other threads meanwhile. Handed both files, PGlite
  // also starts no ES module loader in this thread to read them (its import('fs/promises')).
  const dist = dirname(load.resolve('@electric-sql/pglite'));
  const wasm = WebAssembly.compile(readFileSync(join(dist, 'pglite.wasm')));
  const fsBundle = new Blob([readFileSync(join(dist, 'pglite.data'))]);
  const { PGlite } = load('@electric-sql/pglite');
  const { PGLiteSocketServer } = load('@electric-sql/pglite-socket');
  const db = await PGlite.create(workerData.dataDir, { pgliteWasmModule: await wasm, fsBundle });
  const server = new PGLiteSocketServer({ db, path: workerData.socketPath, maxConnections: 1 });
  await server.start();
  parentPort.once('message', async () => {
    await server.stop();
    await db.close();
    parentPort.postMessage({ stopped: true });
  });
  parentPort.postMessage({ ready: true });
})().catch((error) => parentPort.postMessage({ error: String(error && error.message || error) }));
`;

const started = new Map<string, Promise<EmbeddedPostgres>>();

/**
 * Starts the embedded database of a data directory now, for startEmbeddedPostgres to hand over
 * later: src/main.ts calls it before loading the server's modules.
 */
export function startEmbeddedPostgresEarly(dataDir: string): void {
  const key = resolve(dataDir);
  if (!started.has(key)) {
    const starting = launch(dataDir);
    starting.catch(() => {}); // observed when handed over
    started.set(key, starting);
  }
}

export function startEmbeddedPostgres(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  const early = dataDir === undefined ? undefined : started.get(resolve(dataDir));
  if (early) {
    started.delete(resolve(dataDir!));
    return early;
  }
  return launch(dataDir);
}

async function launch(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  // PGlite's wire server asks for no password, so it listens on a Unix socket inside a directory
  // only Warden's user can enter (a TCP port on 127.0.0.1 let any local user read the JWT and
  // signing secrets); the data files PGlite writes world-writable are shut in the same way.
  const socketDir = dataDir === undefined ? mkdtempSync(join(tmpdir(), 'warden-pg-')) : resolve(dataDir);
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  chmodSync(socketDir, 0o700);
  const unlock = dataDir === undefined ? () => rmSync(socketDir, { recursive: true, force: true }) : lockDataDir(socketDir);
  // `pg` finds the socket as <host>/.s.PGSQL.<port>; a file left by a killed process is stale (the lock is ours).
  const socketPath = join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
  rmSync(socketPath, { force: true });
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      dataDir: dataDir === undefined ? undefined : socketDir,
      socketPath,
      packageJson: join(PROJECT_ROOT, 'package.json'),
      wasmTieringBudget: WASM_TIERING_BUDGET,
    },
  });
  try {
    const [message] = (await once(worker, 'message')) as [{ ready?: true; error?: string }];
    if (message.error !== undefined) throw new Error(`the embedded database could not start: ${message.error}`);
  } catch (error) {
    await worker.terminate();
    unlock();
    throw error;
  }
  // It must not keep a process alive that has nothing else to do.
  worker.unref();
  return {
    url: `postgres://postgres@${encodeURIComponent(socketDir)}:${SOCKET_PORT}/postgres`,
    socketPath,
    async stop() {
      // A worker that already died (PGlite aborted) answers with its exit instead.
      const stopped = Promise.race([once(worker, 'message'), once(worker, 'exit')]);
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
      rmSync(socketPath, { force: true });
      unlock();
    },
  };
}

export class DataDirInUseError extends Error {}

/**
 * PGlite keeps no lock of its own, and two processes writing one data directory corrupt it: the
 * directory holds `warden.pid` while a process has it open. A file left by a process that is gone
 * (killed) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'warden.pid');
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
      throw new DataDirInUseError(
        `the embedded database in ${dataDir} is in use by process ${holder} (a running Warden?); ` +
          'only one process at a time can open it: stop that process first, or use DATABASE_URL.',
      );
    }
    rmSync(file, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
