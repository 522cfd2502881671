import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { quoteIdentifier } from '../../src/db/database';
import { adminQuery, serverUrl } from './test-database';

export interface WardenProcess {
  url: string;
  /** the owner key the first start printed */
  firstKey: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Warden as an operator first meets it: `src/main.ts` in a process of its own on a database that
 * has never seen it (a new database on the test server, else a new embedded data directory), so
 * it prints its first-start key. Resolves once it listens and the key is out.
 */
export async function startFreshWarden(): Promise<WardenProcess> {
  const fresh = await freshDatabase();
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...fresh.env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await fresh.drop();
  };
  try {
    // The embedded database's first start takes tens of seconds on a loaded machine.
    const deadline = Date.now() + 180_000;
    for (;;) {
      const port = /"port":(\d+)/.exec(output)?.[1];
      const firstKey = /sk_live_[A-Za-z0-9]{38}/.exec(output)?.[0];
      if (port && firstKey) return { url: `http://127.0.0.1:${port}`, firstKey, output: () => output, stop };
      if (child.exitCode !== null) throw new Error(`Warden exited before it was ready:\n${output}`);
      if (Date.now() > deadline) throw new Error(`Warden did not print its port and first key in time:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

async function freshDatabase(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (serverUrl) {
    const name = `warden_fresh_${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${quoteIdentifier(name)}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      env: { DATABASE_URL: url.toString() },
      drop: async () => void (await adminQuery(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`)),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-fresh-'));
  return { env: { DATABASE_URL: '', WARDEN_DATA_DIR: dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
}
