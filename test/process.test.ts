import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../src/config/paths';

/** `npm start` as an operator runs it: the real entry point in a process of its own. */
function startWarden(
  env: Record<string, string>,
  command: [string, string[]] = [process.execPath, ['--import', 'tsx', 'src/main.ts']],
): { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> } {
  const child = spawn(command[0], command[1], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'info', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 150_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the server process', () => {
  it('refuses to start on bad configuration, naming the variable, without a stack trace', async () => {
    const warden = startWarden({ PORT: 'eighty', LOG_LEVEL: 'chatty' });
    assert.equal(await warden.exit, 1);
    assert.match(warden.output(), /Warden could not start: Invalid configuration/);
    assert.match(warden.output(), /PORT: must be a whole number/);
    assert.match(warden.output(), /LOG_LEVEL: must be one of/);
    assert.doesNotMatch(warden.output(), /\n\s+at /);
  });

  it('serves on the embedded database, and on SIGTERM finishes the request in flight before exiting 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-process-'));
    const warden = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
    try {
      const port = await waitFor(() => {
        const match = /"port":(\d+)/.exec(warden.output());
        return match ? Number(match[1]) : undefined;
      }, 'the listening line');
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);

      // A request whose headers are still arriving when SIGTERM lands.
      const socket = connect(port, '127.0.0.1');
      let response = '';
      socket.on('data', (chunk) => (response += chunk));
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('GET /readyz HTTP/1.1\r\nHost: localhost\r\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      warden.child.kill('SIGTERM');
      await waitFor(() => (warden.output().includes('shutting down') ? true : undefined), 'the shutdown line');
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'no new connections are accepted');
      socket.write('\r\n');

      assert.equal(await warden.exit, 0);
      assert.match(response, /^HTTP\/1\.1 200 OK/);
      assert.match(response, /"status":"ready"/);
      assert.match(warden.output(), /"msg":"stopped"/);
    } finally {
      warden.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('`npm start` passes SIGTERM on: stopping the pid npm gives drains the server and leaves no process behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-npm-start-'));
    const warden = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir }, ['npm', ['start']]);
    try {
      const port = await waitFor(() => {
        const match = /"port":(\d+)/.exec(warden.output());
        return match ? Number(match[1]) : undefined;
      }, 'the listening line');
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

      warden.child.kill('SIGTERM');
      await warden.exit;
      assert.match(warden.output(), /"msg":"stopped"/);
      // An orphaned server would still hold the port.
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the server is gone');
    } finally {
      warden.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('on first start creates an org and prints its owner API key once, outside the JSON log; never again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-first-start-'));
    const listening = (output: () => string) =>
      waitFor(() => {
        const match = /"port":(\d+)/.exec(output());
        return match ? Number(match[1]) : undefined;
      }, 'the listening line');
    try {
      const first = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
      const port = await listening(first.output);
      const key = await waitFor(() => /sk_live_[A-Za-z0-9]{38}/.exec(first.output())?.[0], 'the printed key');
      const me = await fetch(`http://127.0.0.1:${port}/api/v1/auth/me`, { headers: { 'X-API-Key': key } });
      assert.equal(me.status, 200);
      const principal = (await me.json()) as { type: string; permissions: string[]; org: { name: string } };
      assert.equal(principal.type, 'api_key');
      assert.equal(principal.org.name, 'Default org');
      assert.ok(principal.permissions.includes('owner.grant'));
      const jsonLines = first.output().split('\n').filter((line) => line.startsWith('{'));
      assert.ok(jsonLines.every((line) => !line.includes(key)), 'the key is not in the structured log');
      first.child.kill('SIGTERM');
      assert.equal(await first.exit, 0);

      const second = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
      await listening(second.output);
      second.child.kill('SIGTERM');
      assert.equal(await second.exit, 0);
      assert.doesNotMatch(second.output(), /sk_live_|First start/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
