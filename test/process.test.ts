import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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

/** `npm run admin -- …` against the same database settings. */
async function runAdmin(env: Record<string, string>, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: '', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const [code] = await once(child, 'exit');
  return { code, output };
}

/** The embedded database's first start is slow on a loaded machine: minutes, not seconds. */
const listeningPort = (output: () => string) =>
  waitFor(
    () => {
      const match = /"port":(\d+)/.exec(output());
      return match ? Number(match[1]) : undefined;
    },
    'the listening line',
    180_000,
  );
const printedKey = (output: () => string) => waitFor(() => /sk_live_[A-Za-z0-9]{38}/.exec(output())?.[0], 'the printed key');

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 150_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The tests own their processes, ports and data directories, so they run side by side.
describe('the server process', { concurrency: true }, () => {
  it('refuses to start on bad configuration, naming the variable, without a stack trace', async () => {
    const warden = startWarden({ PORT: 'eighty', LOG_LEVEL: 'chatty' });
    assert.equal(await warden.exit, 1);
    assert.match(warden.output(), /Warden could not start: Invalid configuration/);
    assert.match(warden.output(), /PORT: must be a whole number/);
    assert.match(warden.output(), /LOG_LEVEL: must be one of/);
    assert.doesNotMatch(warden.output(), /\n\s+at /);
  });

  // The embedded database's first start (its initdb) is most of a start's cost, and these three
  // need only one: they share a data directory, in this order. Each passes on a fresh one too.
  describe('on one embedded data directory', { concurrency: false }, () => {
    let dataDir: string;
    before(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'warden-process-'));
    });
    after(() => rmSync(dataDir, { recursive: true, force: true }));

    it('on first start creates an org and prints its owner API key once, outside the JSON log; never again', async () => {
      const first = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
      let second: ReturnType<typeof startWarden> | undefined;
      try {
        const port = await listeningPort(first.output);
        const key = await printedKey(first.output);
        const me = await fetch(`http://127.0.0.1:${port}/api/v1/auth/me`, { headers: { 'X-API-Key': key } });
        assert.equal(me.status, 200);
        const principal = (await me.json()) as { type: string; permissions: string[]; org: { name: string } };
        assert.equal(principal.type, 'api_key');
        assert.equal(principal.org.name, 'Default org');
        assert.ok(principal.permissions.includes('owner.grant'));
        // The org's chain starts with its own making and the key's, by the first start.
        const logs = await fetch(`http://127.0.0.1:${port}/api/v1/audit-logs?limit=10`, { headers: { 'X-API-Key': key } });
        const { events } = (await logs.json()) as {
          events: Array<Record<string, unknown> & { details: { after: Record<string, unknown> } }>;
        };
        assert.deepEqual(
          events
            .filter((event) => (event.seq as number) <= 2)
            .map((event) => [
              event.seq,
              event.action,
              event.actor_type,
              event.actor_id,
              event.details.after.key ?? event.details.after.name,
            ]),
          [
            [2, 'api_key.created', 'system', 'first start', '[REDACTED]'],
            [1, 'org.created', 'system', 'first start', 'Default org'],
          ],
        );
        const jsonLines = first
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'));
        assert.ok(
          jsonLines.every((line) => !line.includes(key)),
          'the key is not in the structured log',
        );
        first.child.kill('SIGTERM');
        assert.equal(await first.exit, 0);

        second = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
        await listeningPort(second.output);
        second.child.kill('SIGTERM');
        assert.equal(await second.exit, 0);
        assert.doesNotMatch(second.output(), /sk_live_|First start/);
      } finally {
        first.child.kill('SIGKILL');
        second?.child.kill('SIGKILL');
      }
    });

    it('serves on the embedded database, and on SIGTERM finishes the request in flight before exiting 0', async () => {
      const warden = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
      try {
        const port = await listeningPort(warden.output);
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
      }
    });

    it('`npm start` passes SIGTERM on: stopping the pid npm gives drains the server and leaves no process behind', async () => {
      const warden = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir }, ['npm', ['start']]);
      try {
        const port = await listeningPort(warden.output);
        assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

        warden.child.kill('SIGTERM');
        await warden.exit;
        assert.match(warden.output(), /"msg":"stopped"/);
        // An orphaned server would still hold the port.
        await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the server is gone');
      } finally {
        warden.child.kill('SIGKILL');
      }
    });
  });

  it('a first start that cannot bind its port creates nothing, so the next start creates the org and prints its key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-port-taken-'));
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (squatter.address() as AddressInfo).port;
      const failed = startWarden({ PORT: String(taken), HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
      assert.equal(await failed.exit, 1);
      assert.match(failed.output(), /Warden could not start: .*EADDRINUSE/);
      assert.doesNotMatch(failed.output(), /sk_live_|First start/);

      const next = startWarden({ PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir });
      try {
        const port = await listeningPort(next.output);
        const key = await printedKey(next.output);
        assert.match(next.output(), /First start: Warden created the org org_/);
        await fetch(`http://127.0.0.1:${port}/api/v1/auth/me`, { headers: { 'X-API-Key': key } }).then((res) =>
          assert.equal(res.status, 200),
        );
        next.child.kill('SIGTERM');
        assert.equal(await next.exit, 0);
      } finally {
        next.child.kill('SIGKILL');
      }
    } finally {
      squatter.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('npm run admin -- create-owner-key: refused while Warden holds the embedded database, then prints a working owner key, audited', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-admin-'));
    const env = { PORT: '0', HOST: '127.0.0.1', WARDEN_DATA_DIR: dataDir };
    try {
      const first = startWarden(env);
      try {
        await listeningPort(first.output);
        await printedKey(first.output);
        const busy = await runAdmin(env, ['create-owner-key']);
        assert.equal(busy.code, 1);
        assert.match(busy.output, /in use by process \d+/);
        assert.doesNotMatch(busy.output, /sk_live_/);
        first.child.kill('SIGTERM');
        assert.equal(await first.exit, 0);
      } finally {
        first.child.kill('SIGKILL');
      }

      const unknownOrg = await runAdmin(env, ['create-owner-key', '--org', 'org_nosuch']);
      assert.equal(unknownOrg.code, 1);
      assert.match(unknownOrg.output, /no org 'org_nosuch'/);
      const made = await runAdmin(env, ['create-owner-key']);
      assert.equal(made.code, 0, made.output);
      const key = /sk_live_[A-Za-z0-9]{38}/.exec(made.output)?.[0];
      assert.ok(key, made.output);

      const again = startWarden(env);
      try {
        const port = await listeningPort(again.output);
        assert.doesNotMatch(again.output(), /First start/);
        const me = await fetch(`http://127.0.0.1:${port}/api/v1/auth/me`, { headers: { 'X-API-Key': key } });
        assert.equal(me.status, 200);
        const principal = (await me.json()) as { permissions: string[]; api_key: { id: string } };
        assert.ok(principal.permissions.includes('owner.grant'));
        const audit = await fetch(
          `http://127.0.0.1:${port}/api/v1/audit-events?actor=${encodeURIComponent('npm run admin -- create-owner-key')}`,
          {
            headers: { 'X-API-Key': key },
          },
        );
        assert.equal(audit.status, 200);
        const { events } = (await audit.json()) as {
          events: Array<{ action: string; actor_type: string; resource_id: string; details: { after: { key: string } } }>;
        };
        assert.deepEqual(
          events.map((event) => event.action),
          ['api_key.created'],
        );
        assert.equal(events[0]!.actor_type, 'system');
        assert.equal(events[0]!.resource_id, principal.api_key.id);
        assert.equal(events[0]!.details.after.key, '[REDACTED]');
        again.child.kill('SIGTERM');
        assert.equal(await again.exit, 0);
      } finally {
        again.child.kill('SIGKILL');
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
