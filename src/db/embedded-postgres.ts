import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgres:// URL on 127.0.0.1 that the ordinary `pg` driver connects to. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (Postgres compiled to WebAssembly) behind its wire-protocol socket server, so
 * Warden talks to it through `pg` exactly as it talks to a real server. PGlite is a single
 * session: the server takes one connection, and callers must use a pool of one.
 *
 * @param dataDir a directory to keep the data in, or `undefined` for a throw-away in-memory database
 */
export async function startEmbeddedPostgres(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  if (dataDir !== undefined) mkdirSync(resolve(dataDir), { recursive: true });
  const unlock = dataDir === undefined ? () => undefined : lockDataDir(resolve(dataDir));
  try {
    const db = await PGlite.create(dataDir === undefined ? undefined : resolve(dataDir));
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
    await server.start();
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      async stop() {
        await server.stop();
        await db.close();
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
