/**
 * The README's quickstart, run as written: its ```sh quickstart blocks, in order, in one bash,
 * against a Warden started fresh for the test. Only the printed key and the address are put in,
 * so a README that drifts from the API fails here instead of on a newcomer's machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../src/config/paths';
import { startFreshWarden, type WardenProcess } from './support/warden-process';

const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const blocks = [...README.matchAll(/^```sh quickstart\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);

/** Puts in what only the reader knows; each placeholder must appear exactly once. */
function asRun(script: string, warden: WardenProcess): string {
  const fills: Array<[string, string]> = [
    ['FIRST_KEY=sk_live_…', `FIRST_KEY=${warden.firstKey}`],
    ['WARDEN=http://localhost:9300', `WARDEN=${warden.url}`],
  ];
  for (const [placeholder, value] of fills) {
    assert.equal(script.split(placeholder).length, 2, `the quickstart has "${placeholder}" exactly once`);
    script = script.replace(placeholder, value);
  }
  return script;
}

describe("the README's quickstart", () => {
  let warden: WardenProcess;
  let folder: string;
  before(async () => {
    warden = await startFreshWarden();
    folder = mkdtempSync(join(tmpdir(), 'warden-quickstart-'));
  });
  after(async () => {
    await warden?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('has ten steps, each a block of its own', () => {
    assert.equal(blocks.length, 10);
    for (const [index, block] of blocks.entries()) {
      assert.match(block, new RegExp(`^# ${index + 1}\\. `), `block ${index + 1} starts with its step`);
    }
  });

  it('runs from the first key to a verified audit chain, each step doing what its comment says', async () => {
    // Markers between the steps, and a newline after every curl answer (curl reads ~/.curlrc from
    // CURL_HOME), so that the answers can be told apart; the commands themselves run verbatim.
    writeFileSync(join(folder, '.curlrc'), 'write-out = "\\n"\n');
    const script = blocks.map((block, index) => `echo '::step ${index + 1}'\n${block}`).join('\n');
    const run = spawnSync('bash', ['-c', `set -euo pipefail\n${asRun(script, warden)}`], {
      cwd: folder,
      env: { PATH: process.env.PATH, HOME: folder, CURL_HOME: folder },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, `the quickstart failed:\n${run.stdout}\n${run.stderr}\n--- Warden:\n${warden.output().slice(-4000)}`);

    const steps = run.stdout.split(/^::step \d+\n/m).slice(1);
    const answers = (step: number) =>
      steps[step - 1]!.split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
    assert.equal(steps.length, 10);

    const [user, revoked] = answers(2);
    assert.equal(user.role, 'owner');
    assert.equal(user.email, 'you@example.com');
    assert.equal(revoked.name, 'First-start owner key');
    assert.ok(revoked.revoked_at, 'step 2 revokes the first-start key');
    const firstKey = await fetch(`${warden.url}/api/v1/auth/me`, { headers: { 'X-API-Key': warden.firstKey } });
    assert.equal(firstKey.status, 401, 'the first-start key no longer works');

    const register = JSON.parse(readFileSync(join(folder, 'register.json'), 'utf8'));
    assert.match(register.sekuire_id, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(folder, 'agent-key.pem')).mode & 0o777, 0o600, 'the private key is readable by its owner only');
    const installation = JSON.parse(readFileSync(join(folder, 'installation.json'), 'utf8'));
    assert.match(installation.runtime_token, /^srt_/);

    const [lease] = answers(8);
    assert.equal(lease.installation_id, installation.installation_id);
    assert.equal(lease.command, null);

    const [killed, leaseAfterKill] = answers(9);
    assert.equal(killed.status, 'disabled');
    assert.equal(killed.sekuire_id, register.sekuire_id);
    assert.equal(leaseAfterKill.command.type, 'shutdown');

    const [logs, verification] = answers(10);
    assert.ok(logs.events.some((event: { action: string }) => event.action === 'agent.killed'));
    assert.equal(verification.valid, true);
    assert.ok(verification.events_checked > 5);
  });
});
