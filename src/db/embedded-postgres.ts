import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

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
 * @param dataDir a directory to keep the data in, or `undefined` for a throw-away in-memory database
 */
const SOCKET_PORT = 5432;

export async function startEmbeddedPostgres(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  // PGlite's wire server asks for no password, so it listens on a Unix socket inside a directory
  // only Warden's user can enter (a TCP port on 127.0.0.1 let any local user read the JWT and
  // signing secrets); the data files PGlite writes world-writable are shut in the same way.
  const socketDir = dataDir === undefined ? mkdtempSync(join(tmpdir(), 'warden-pg-')) : resolve(dataDir);
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  chmodSync(socketDir, 0o700);
  const unlock = dataDir === undefined ? () => rmSync(socketDir, { recursive: true, force: true }) : lockDataDir(socketDir);
  try {
    const db = await PGlite.create(dataDir === undefined ? undefined : socketDir);
    // `pg` finds the socket as <host>/.s.PGSQL.<port>; a file left by a killed process is stale (the lock is ours).
    const socketPath = join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
    rmSync(socketPath, { force: true });
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 });
    await server.start();
    return {
      url: `postgres://postgres@${encodeURIComponent(socketDir)}:${SOCKET_PORT}/postgres`,
      socketPath,
      async stop() {
        await server.stop();
        await db.close();
        rmSync(socketPath, { force: true });
        unlock();
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
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
