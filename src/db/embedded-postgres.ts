import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
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
  const db = await PGlite.create(dataDir === undefined ? undefined : resolve(dataDir));
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
