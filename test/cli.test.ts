import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../src/config/paths';
import { startFreshWarden, type WardenProcess } from './support/warden-process';

const BIN = join(PROJECT_ROOT, 'packages/cli/bin/warden.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real `warden` binary in a process of its own. `input` is written to its stdin (a pipe, as
 * in scripts); `machine` stands in for the machine it runs on.
 */
function warden(args: string[], options: { configDir: string; machine?: string; input?: string; backend?: string }): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: tmpdir(),
    env: {
      ...process.env,
      WARDEN_CONFIG_DIR: options.configDir,
      WARDEN_MACHINE_ID: options.machine ?? 'machine-a',
      WARDEN_BACKEND_URL: options.backend ?? '',
      WARDEN_API_KEY: '',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** `warden login` on a real terminal (a pseudo-terminal from script(1)): the key is typed after the prompt, and never echoed. */
function loginOnTerminal(backend: string, key: string, configDir: string): Promise<Run> {
  const child = spawn('script', ['-qec', `${process.execPath} ${BIN} login --backend ${backend}`, '/dev/null'], {
    env: { ...process.env, WARDEN_CONFIG_DIR: configDir, WARDEN_MACHINE_ID: 'machine-a' },
  });
  let stdout = '';
  let typed = false;
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (!typed && stdout.includes('Enter your API Key: ')) {
      typed = true;
      // After the prompt, as a person types: the terminal is in raw mode with echo off by now.
      setTimeout(() => child.stdin.write(`${key}\r`), 200);
    }
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr: '' })));
}

const json = <T>(run: Run): T => {
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
};

describe('the warden CLI (seed 004) against a spawned Warden', () => {
  let server: WardenProcess;
  let home: string;
  let configDir: string;
  /** Warden's API with the owner key, from the device the CLI bound it to (a bound key must say which). */
  const api = (path: string, init: { method?: string; body?: string; key?: string } = {}) => {
    const authFile = join(configDir, 'auth.json');
    const device: Record<string, string> = existsSync(authFile)
      ? { 'X-Warden-Device': JSON.parse(readFileSync(authFile, 'utf8')).device_fingerprint }
      : {};
    return fetch(`${server.url}${path}`, {
      ...init,
      headers: { 'X-API-Key': init.key ?? server.firstKey, 'Content-Type': 'application/json', ...device },
    });
  };

  before(async () => {
    server = await startFreshWarden();
    home = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    configDir = join(home, '.warden');
  });
  after(async () => {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('--help works for every command, and wrong usage exits 2', async () => {
    const commands = [
      [],
      ['login'],
      ['logout'],
      ['status'],
      ['auth'],
      ['auth', 'whoami'],
      ['agents'],
      ['agents', 'list'],
      ['agents', 'get'],
      ['agents', 'kill'],
      ['agents', 'enable'],
      ['agents', 'revoke'],
      ['keys'],
      ['keys', 'create'],
      ['keys', 'list'],
      ['keys', 'revoke'],
      ['keys', 'roll'],
      ['audit'],
      ['audit', 'verify'],
      ['audit', 'export'],
      ['install-token'],
      ['install-token', 'create'],
    ];
    const [runs, unknown, badFormat] = await Promise.all([
      Promise.all(commands.map((command) => warden([...command, '--help'], { configDir }))),
      warden(['frobnicate'], { configDir }),
      warden(['audit', 'export', '--format', 'xml'], { configDir }),
    ]);
    runs.forEach((run, i) => {
      assert.equal(run.code, 0, `${commands[i]!.join(' ')} --help`);
      assert.match(run.stdout, new RegExp(`^Usage: warden ${commands[i]!.join(' ')}`.trimEnd()), commands[i]!.join(' '));
    });
    assert.match(runs[1]!.stdout, /--web-url <URL>/);
    assert.match(runs[1]!.stdout, /--backend <URL>/);
    assert.match(runs[5]!.stdout, /--backend-url <URL>/);

    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /Allowed choices are jsonl, csv/);
  });

  it('status before login: "Not logged in", exit 1; commands that need a key say to log in', async () => {
    const [status, list] = await Promise.all([
      warden(['status'], { configDir }),
      warden(['agents', 'list'], { configDir, backend: server.url }),
    ]);
    assert.equal(status.code, 1);
    assert.equal(status.stdout, "Not logged in\nRun 'warden login' to authenticate\n");
    assert.equal(list.code, 1);
    assert.match(list.stderr, /Not logged in\. Run 'warden login'/);
  });

  it('login refuses what is not a key, and a key Warden does not know, writing nothing', async () => {
    const unknownKey = `sk_live_${'A'.repeat(38)}`;
    const [garbage, refused] = await Promise.all([
      warden(['login', '--backend', server.url], { configDir, input: 'hunter2\n' }),
      warden(['login', '--backend', server.url], { configDir, input: `${unknownKey}\n` }),
    ]);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /not a Warden API key/);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error: .+\n\(CREDENTIAL_(MALFORMED|INVALID), HTTP 401, request req_/);
    assert.equal(existsSync(join(configDir, 'auth.json')), false);
  });

  it('login reads the key from stdin, verifies it, and stores seed 004 fields in auth.json with mode 0600', async () => {
    const run = await warden(['login', '--backend', server.url], { configDir, input: `${server.firstKey}\n` });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Warden Login\n\nTo authenticate:\n1\. Go to: http:\/\/127\.0\.0\.1:\d+\/docs#tag\/api-keys\n/);
    assert.match(run.stdout, /Enter your API Key: /);
    assert.match(run.stdout, /Login successful! API Key verified/);
    assert.match(run.stdout, /\nDevice: .+\nOS: linux\nFingerprint: [0-9a-f]{12}\.\.\.\n$/);
    assert.doesNotMatch(run.stdout, new RegExp(server.firstKey), 'the key is not printed back');

    const file = join(configDir, 'auth.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(configDir).mode & 0o777, 0o700);
    const auth = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(auth.api_key, server.firstKey);
    assert.match(auth.device_fingerprint, /^[0-9a-f]{64}$/);
    assert.doesNotMatch(JSON.stringify(auth), /machine-a/, 'the machine facts are hashed, never stored');
    assert.match(auth.org_id, /^org_/);
    assert.equal(auth.workspace_id, null);
    assert.equal(auth.backend_url, server.url);
  });

  it('status shows the key masked, the device and the org; whoami asks the backend', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const nobody = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const [status, whoami, unreachable, whoamiJson] = await Promise.all([
      warden(['status'], { configDir }),
      warden(['auth', 'whoami'], { configDir }),
      warden(['auth', 'whoami', '--backend-url', nobody], { configDir }),
      warden(['auth', 'whoami', '--json'], { configDir }),
    ]);
    assert.equal(status.code, 0);
    const secret = server.firstKey.slice('sk_live_'.length);
    assert.match(
      status.stdout,
      new RegExp(
        `^Authentication Status:\\nAuthenticated with API Key\\nKey: sk_live_${secret.slice(0, 3)}\\.\\.\\.${secret.slice(-3)}\\n` +
          'Device Fingerprint: [0-9a-f]{8}\\.\\.\\.\\nDevice: .+\\nOS: linux\\nOrganization: org_\\w+\\n',
      ),
    );
    assert.doesNotMatch(status.stdout, new RegExp(server.firstKey));

    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(
      whoami.stdout,
      /^Current User Information:\nAuthenticated as:\nEmail: - \(no user made this key\)\nUser ID: -\nOrganization: Default org \(org_\w+\)\n/,
    );
    assert.match(whoami.stdout, /\n\nDevice Info:\nDevice: .+\nOS: linux\nFingerprint: [0-9a-f]{8}\.\.\.\n$/);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^Error: could not reach Warden \(connect ECONNREFUSED .+\)\. Check --backend/);
    const asJson = json<{ type: string; user_source: string; org: { name: string } }>(whoamiJson);
    assert.equal(asJson.type, 'api_key');
    assert.equal(asJson.user_source, 'none');
    assert.equal(asJson.org.name, 'Default org');

    // A key a person made reports that person.
    const password = 'correct horse battery staple';
    const user = (await (
      await api('/api/v1/users', {
        method: 'POST',
        body: JSON.stringify({ email: 'dev@example.com', password, role: 'admin', first_name: 'Jane', last_name: 'Doe' }),
      })
    ).json()) as { id: string };
    const session = (await (
      await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'dev@example.com', password }),
      })
    ).json()) as { token: string };
    const made = (await (
      await fetch(`${server.url}/api/v1/api-keys`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${session.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'CLI' }),
      })
    ).json()) as { key: string };
    const devDir = join(home, 'dev');
    assert.equal((await warden(['login', '--backend', server.url], { configDir: devDir, input: `${made.key}\n` })).code, 0);
    const dev = await warden(['auth', 'whoami', '--backend-url', server.url], { configDir: devDir });
    assert.match(
      dev.stdout,
      new RegExp(`Authenticated as:\nEmail: dev@example.com\nUser ID: ${user.id}\nName: Jane Doe\nOrganization: Default org`),
    );
  });

  it('refuses a credentials file others can read, like ssh, and works again once it is 0600', async () => {
    const file = join(configDir, 'auth.json');
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(file, mode);
      const status = await warden(['status'], { configDir });
      assert.equal(status.code, 1);
      assert.match(status.stderr, new RegExp(`Permissions 0${mode.toString(8)} for '${file}' are too open`));
      assert.match(status.stderr, /chmod 600/);
      assert.equal(status.stdout, '');
    }
    chmodSync(file, 0o600);
    assert.equal((await warden(['status'], { configDir })).code, 0);
  });

  it('agents list|get|kill|enable|revoke, as tables or --json, with exit 1 and the error code on a refusal', async () => {
    const minted = (await (await api('/api/v1/agents', { method: 'POST', body: JSON.stringify({ name: 'billing-bot' }) })).json()) as {
      id: string;
    };
    const [table, listedRun, got, missing] = await Promise.all([
      warden(['agents', 'list'], { configDir }),
      warden(['agents', 'list', '--json', '--status', 'active'], { configDir }),
      warden(['agents', 'get', minted.id], { configDir }),
      warden(['agents', 'get', 'agt_nosuchagent', '--json'], { configDir }),
    ]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^ID\s+NAME\s+STATUS\s+WORKSPACE\s+LAST SEEN\n/);
    assert.match(table.stdout, new RegExp(`${minted.id}\\s+billing-bot\\s+active\\s+-\\s+-`));
    const listed = json<Array<{ id: string }>>(listedRun);
    assert.ok(listed.some((agent) => agent.id === minted.id));

    assert.match(got.stdout, new RegExp(`^ID:\\s+${minted.id}\\nName:\\s+billing-bot\\nStatus:\\s+active\\n`));

    const killed = json<{ status: string; disabled_reason: string }>(
      await warden(['agents', 'kill', minted.id, '--reason', 'Runaway spend', '--json'], { configDir }),
    );
    assert.deepEqual([killed.status, killed.disabled_reason], ['disabled', 'Runaway spend']);
    const enabled = await warden(['agents', 'enable', minted.id], { configDir });
    assert.equal(enabled.stdout, `Agent ${minted.id} (billing-bot) enabled; status: active\n`);
    const revoked = await warden(['agents', 'revoke', minted.id], { configDir });
    assert.match(revoked.stdout, /revoked \(permanent\); status: revoked/);
    const again = await warden(['agents', 'kill', minted.id], { configDir });
    assert.equal(again.code, 1, 'a revoked agent cannot be disabled');
    assert.match(again.stderr, /\(AGENT_REVOKED|\(\w+, HTTP 409/);

    assert.equal(missing.code, 1);
    const body = JSON.parse(missing.stderr);
    assert.equal(body.code, 'AGENT_NOT_FOUND');
    assert.match(body.request_id, /^req_/);
  });

  it('keys create|list|roll|revoke: the secret is shown once; the new key works, the revoked one does not', async () => {
    const created = json<{ id: string; key: string; name: string }>(
      await warden(['keys', 'create', '--name', 'CI deploys', '--expires-in-days', '30', '--permissions', 'agent.read', '--json'], {
        configDir,
      }),
    );
    assert.match(created.key, /^sk_live_/);
    assert.equal((await api('/api/v1/agents', { key: created.key })).status, 200);

    const [list, unknownDays] = await Promise.all([
      warden(['keys', 'list'], { configDir }),
      warden(['keys', 'create', '--name', 'x', '--expires-in-days', '7'], { configDir }),
    ]);
    assert.equal(unknownDays.code, 2);
    assert.match(list.stdout, /^ID\s+NAME\s+MODE\s+KEY\s+EXPIRES\s+LAST USED\s+REVOKED\n/);
    assert.match(list.stdout, new RegExp(`${created.id}\\s+CI deploys\\s+live\\s+sk_live_\\w{4}\\.\\.\\.\\w{4}`));
    assert.doesNotMatch(list.stdout, new RegExp(created.key));

    const rolled = await warden(['keys', 'roll', created.id], { configDir });
    assert.equal(rolled.code, 0, rolled.stderr);
    const newSecret = /sk_live_\w+/.exec(rolled.stdout.split('shown only once')[1] ?? '')?.[0];
    assert.ok(newSecret && newSecret !== created.key);
    assert.equal((await api('/api/v1/agents', { key: newSecret })).status, 200);
    assert.equal((await api('/api/v1/agents', { key: created.key })).status, 401, 'no grace period: the old secret stops');

    const revoked = await warden(['keys', 'revoke', created.id], { configDir });
    assert.match(revoked.stdout, new RegExp(`^Revoked API key: ${created.id} \\(CI deploys`));
    assert.equal((await api('/api/v1/agents', { key: newSecret })).status, 401);
  });

  it('install-token create, with --workspace or the one given at login', async () => {
    const org = JSON.parse(readFileSync(join(configDir, 'auth.json'), 'utf8')).org_id as string;
    const ws = (await (await api(`/api/v1/orgs/${org}/workspaces`, { method: 'POST', body: JSON.stringify({ name: 'Prod' }) })).json()) as {
      id: string;
    };
    const agent = (await (await api('/api/v1/agents', { method: 'POST', body: JSON.stringify({ name: 'deployer' }) })).json()) as {
      id: string;
    };
    const [noWorkspace, createdRun] = await Promise.all([
      warden(['install-token', 'create', '--agent', agent.id], { configDir }),
      warden(['install-token', 'create', '--agent', agent.id, '--workspace', ws.id, '--expiry-minutes', '5', '--json'], { configDir }),
    ]);
    assert.equal(noWorkspace.code, 2);
    assert.match(noWorkspace.stderr, /--workspace/);
    const created = json<{ token: string; workspace_id: string }>(createdRun);
    assert.match(created.token, /^skt_/);
    assert.equal(created.workspace_id, ws.id);

    const relogin = await warden(['login', '--backend', server.url, '--workspace', ws.id], { configDir, input: `${server.firstKey}\n` });
    assert.equal(relogin.code, 0, relogin.stderr);
    const [status, human] = await Promise.all([
      warden(['status'], { configDir }),
      warden(['install-token', 'create', '--agent', agent.id], { configDir }),
    ]);
    assert.match(status.stdout, new RegExp(`Workspace: ${ws.id}`));
    assert.match(human.stdout, /^Install token \(shown only once\):\s+skt_\w+\nAgent:\s+agt_\w+\nWorkspace:\s+ws_\w+\nExpires:/);
  });

  it('audit verify reports the intact chain; audit export streams JSON Lines or CSV, to stdout or a file', async () => {
    const csvFile = join(home, 'audit.csv');
    const [verify, verifyJson, jsonl, csv] = await Promise.all([
      warden(['audit', 'verify'], { configDir }),
      warden(['audit', 'verify', '--json'], { configDir }),
      warden(['audit', 'export', '--format', 'jsonl'], { configDir }),
      warden(['audit', 'export', '--format', 'csv', '--action', 'agent.revoked', '--output', csvFile], { configDir }),
    ]);
    assert.equal(verify.code, 0);
    assert.match(verify.stdout, /^Audit chain of org_\w+ is intact: \d+ events checked \(head seq \d+\)\.\n$/);
    assert.equal(json<{ valid: boolean }>(verifyJson).valid, true);

    assert.equal(jsonl.code, 0, jsonl.stderr);
    const events = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; action: string; hash: string });
    assert.ok(events.some((event) => event.action === 'agent.killed'));
    assert.deepEqual(
      events.map((event) => event.seq),
      events.map((_, i) => i + 1),
      'the whole chain, in order',
    );

    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout, `Exported the audit log to ${csvFile}\n`);
    const lines = readFileSync(csvFile, 'utf8').trim().split('\n');
    assert.match(lines[0]!, /^id,org_id,seq,occurred_at,/);
    assert.equal(lines.length, 2, 'the header and the one revocation');
    assert.equal(statSync(csvFile).mode & 0o777, 0o600);
  });

  const noScript = spawnSync('script', ['--version']).error !== undefined && 'script(1) is not installed';
  it('login on a real terminal: the prompt hides what is typed', { skip: noScript }, async () => {
    const terminalDir = join(home, 'terminal');
    const run = await loginOnTerminal(server.url, server.firstKey, terminalDir);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /Enter your API Key: \r?\n/);
    assert.match(run.stdout, /Login successful!/);
    assert.doesNotMatch(run.stdout, new RegExp(server.firstKey.slice(8)), 'no echo of the key');
    assert.equal(JSON.parse(readFileSync(join(terminalDir, 'auth.json'), 'utf8')).api_key, server.firstKey);
  });

  it('logout removes the credentials file and says which', async () => {
    const otherDir = join(home, 'logout');
    cpSync(configDir, otherDir, { recursive: true });
    const run = await warden(['logout'], { configDir: otherDir });
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `Logging out...\nLogged out successfully!\nCredentials removed from: ${join(otherDir, 'auth.json')}\n`);
    assert.equal(existsSync(join(otherDir, 'auth.json')), false);
    assert.equal((await warden(['status'], { configDir: otherDir })).code, 1);
    const twice = await warden(['logout'], { configDir: otherDir });
    assert.match(twice.stdout, /^Not logged in/);
  });

  it('device binding: login binds the key to this device; the same file on another machine is refused until it logs in there', async () => {
    const keyId = JSON.parse(readFileSync(join(configDir, 'auth.json'), 'utf8')).key_id as string;
    const devices = await api(`/api/v1/api-keys/${keyId}/devices`);
    assert.equal(devices.status, 200, 'Warden lists the key’s devices');
    const bound = ((await devices.json()) as { devices: Array<{ fingerprint: string; os: string }> }).devices;
    const fingerprint = JSON.parse(readFileSync(join(configDir, 'auth.json'), 'utf8')).device_fingerprint;
    assert.deepEqual(
      bound.map((device) => [device.fingerprint, device.os]),
      [[fingerprint, 'linux']],
      'one device, whichever login bound it',
    );
    const login = await warden(['login', '--backend', server.url], { configDir, input: `${server.firstKey}\n` });
    assert.match(login.stdout, /Login successful! API Key verified and bound to this device\.\n/);

    const copied = join(home, 'copied');
    cpSync(configDir, copied, { recursive: true });
    const [elsewhere, status] = await Promise.all([
      warden(['agents', 'list'], { configDir: copied, machine: 'machine-b' }),
      warden(['status'], { configDir: copied, machine: 'machine-b' }),
    ]);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /warden login/);
    assert.match(elsewhere.stderr, /\(DEVICE_NOT_BOUND, HTTP 401/);
    assert.match(status.stdout, /Warning: this is not the device the key was bound on/);

    const relogin = await warden(['login', '--backend', server.url], {
      configDir: copied,
      machine: 'machine-b',
      input: `${server.firstKey}\n`,
    });
    assert.equal(relogin.code, 0, relogin.stderr);
    const [there, here] = await Promise.all([
      warden(['agents', 'list'], { configDir: copied, machine: 'machine-b' }),
      warden(['agents', 'list'], { configDir }),
    ]);
    assert.equal(there.code, 0);
    assert.equal(here.code, 0, 'the first device stays bound');
  });
});
