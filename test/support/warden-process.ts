import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';

/** Warden as `npm start` runs it, in a process of its own, on a fresh embedded database. */
export interface SpawnedWarden {
  url: string;
  /** The owner API key Warden prints once at its first start. */
  ownerKey: string;
  output(): string;
  stop(): Promise<void>;
}

export async function spawnWarden(env: Record<string, string> = {}): Promise<SpawnedWarden> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-spawned-'));
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir, ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // The embedded database's first start is slow on a loaded machine: minutes, not seconds.
    const port = await waitFor(() => /"port":(\d+)/.exec(output)?.[1], 'the listening line', 180_000);
    const ownerKey = await waitFor(() => /sk_live_[A-Za-z0-9]{38}/.exec(output)?.[0], 'the printed owner key', 30_000);
    return { url: `http://127.0.0.1:${port}`, ownerKey, output: () => output, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; Warden said:\n${output}`);
  }
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
