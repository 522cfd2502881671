import { createWardenClient, unwrap, type WardenClient, WardenError } from '@warden/sdk';
import type { Command } from 'commander';
import { type AuthFile, authFilePath, readAuthFile, removeAuthFile, writeAuthFile } from '../auth-file.js';
import { type Device, thisDevice } from '../device.js';
import { CliError, emit, type JsonOption } from '../output.js';
import { readSecret } from '../prompt.js';
import { backendUrl, maskKey, session } from '../session.js';

const API_KEY = /^sk_(live|test)_[A-Za-z0-9]{20,}$/;
const short = (fingerprint: string, length = 8) => `${fingerprint.slice(0, length)}...`;

/** Seed 004's login, logout, status and `auth whoami`, with its words. */
export function authCommands(program: Command): void {
  program
    .command('login')
    .description('Configure your API key for CLI access; binds the key to this device')
    .option('--web-url <URL>', 'Warden web URL, where keys are made (default: the backend)')
    .option('--backend <URL>', 'Warden backend API URL (default: WARDEN_BACKEND_URL or http://localhost:9300)')
    .option('--workspace <ID>', 'default workspace for commands that need one (ws_…)')
    .option('--json', 'print the result as JSON')
    .action(login);

  program
    .command('logout')
    .description('Remove the stored API key and credentials from this device')
    .option('--json', 'print the result as JSON')
    .action((options: JsonOption) => {
      const path = authFilePath();
      const removed = removeAuthFile();
      emit(options, { logged_out: removed, path }, () =>
        removed
          ? `Logging out...\nLogged out successfully!\nCredentials removed from: ${path}`
          : `Not logged in (no credentials at ${path})`,
      );
    });

  program
    .command('status')
    .description('Check your current API key authentication status')
    .option('--json', 'print the result as JSON')
    .action((options: JsonOption) => {
      const auth = readAuthFile();
      if (!auth) {
        emit(options, { authenticated: false }, () => "Not logged in\nRun 'warden login' to authenticate");
        process.exitCode = 1;
        return;
      }
      const device = thisDevice();
      const moved = device.fingerprint !== auth.device_fingerprint;
      const view = {
        authenticated: true,
        key: maskKey(auth.api_key),
        key_id: auth.key_id,
        device_fingerprint: auth.device_fingerprint,
        device_name: auth.device_name,
        os: auth.os,
        org_id: auth.org_id,
        workspace_id: auth.workspace_id,
        backend_url: auth.backend_url,
        this_device_matches: !moved,
      };
      emit(options, view, () =>
        [
          'Authentication Status:',
          'Authenticated with API Key',
          `Key: ${view.key}`,
          `Device Fingerprint: ${short(auth.device_fingerprint)}`,
          `Device: ${auth.device_name}`,
          `OS: ${auth.os}`,
          `Organization: ${auth.org_id}`,
          ...(auth.workspace_id ? [`Workspace: ${auth.workspace_id}`] : []),
          `Backend: ${auth.backend_url}`,
          ...(moved ? ["Warning: this is not the device the key was bound on; run 'warden login' again here."] : []),
        ].join('\n'),
      );
    });

  program
    .command('auth')
    .description('Authentication details from the backend')
    .command('whoami')
    .description('Fetch detailed user information from the backend using your API key (GET /api/v1/me)')
    .option('--backend-url <URL>', 'Warden backend URL (default: the one you logged in to)')
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption & { backendUrl?: string }) => {
      const { client, auth } = session(options.backendUrl);
      const me = await unwrap(client.GET('/api/v1/me'));
      const device = thisDevice();
      const name = [me.firstname, me.lastname].filter(Boolean).join(' ');
      emit(options, { ...me, device: { name: device.name, os: device.os, fingerprint: device.fingerprint } }, () =>
        [
          'Current User Information:',
          'Authenticated as:',
          `Email: ${me.email ?? '-'}${PROFILE_NOTES[me.user_source] ?? ''}`,
          `User ID: ${me.uuid ?? '-'}`,
          ...(name ? [`Name: ${name}`] : []),
          `Organization: ${me.org ? `${me.org.name} (${me.org.id})` : '-'}`,
          ...(me.api_key ? [`API Key: ${me.api_key.name} (${me.api_key.id})`] : []),
          '',
          'Device Info:',
          `Device: ${auth?.device_name ?? device.name}`,
          `OS: ${auth?.os ?? device.os}`,
          `Fingerprint: ${short(device.fingerprint)}`,
        ].join('\n'),
      );
    });
}

/** Whose profile /me answered when it is not the caller's own (seed 003 reports a person for a key). */
const PROFILE_NOTES: Record<string, string> = {
  org_owner: " (the org's first owner: no user made this key)",
  none: ' (no user made this key)',
};

async function login(options: JsonOption & { webUrl?: string; backend?: string; workspace?: string }): Promise<void> {
  const previous = (() => {
    try {
      return readAuthFile();
    } catch {
      return undefined; // an unreadable file is replaced by this login
    }
  })();
  const backend = backendUrl(options.backend, previous);
  const webUrl = (options.webUrl || backend).replace(/\/+$/, '');
  if (!options.json) {
    process.stdout.write(
      [
        'Warden Login',
        '',
        'To authenticate:',
        `1. Go to: ${webUrl}/docs#tag/api-keys`,
        '2. Create a new API Key for CLI access only (POST /api/v1/api-keys): login binds it to this device',
        "3. Copy the key (you'll only see it once!)",
        '4. Paste it below',
        '',
        '',
      ].join('\n'),
    );
  }
  const apiKey = await readSecret(options.json ? '' : 'Enter your API Key: ');
  if (!API_KEY.test(apiKey)) throw new CliError('That is not a Warden API key: they start with sk_live_ or sk_test_.');

  const device = thisDevice();
  const client = createWardenClient({ baseUrl: backend, apiKey, device: device.fingerprint });
  const me = await unwrap(client.GET('/api/v1/me'));
  if (!me.api_key || !me.org) throw new CliError('That credential is not an API key of an organization.');
  const bound = await bindDevice(client, me.api_key.id, device);
  const auth: AuthFile = {
    api_key: apiKey,
    device_fingerprint: device.fingerprint,
    device_name: device.name,
    os: device.os,
    org_id: me.org.id,
    workspace_id: options.workspace ?? (previous?.org_id === me.org.id ? previous.workspace_id : null),
    key_id: me.api_key.id,
    backend_url: backend,
  };
  const path = writeAuthFile(auth);
  emit(options, { logged_in: true, bound, path, key: maskKey(apiKey), ...auth, api_key: undefined }, () =>
    [
      bound
        ? 'Login successful! API Key verified and bound to this device.'
        : 'Login successful! API Key verified (this Warden does not bind keys to devices).',
      `Device: ${device.name}`,
      `OS: ${device.os}`,
      `Fingerprint: ${short(device.fingerprint, 12)}`,
    ].join('\n'),
  );
}

/**
 * Binds the key to this device (seed 004: "a different device requires re-verification"). A
 * Warden from before device binding has no such route; the key then works as it always did.
 */
async function bindDevice(client: WardenClient, keyId: string, device: Device): Promise<boolean> {
  const { error, response } = await client.POST('/api/v1/api-keys/{id}/devices', {
    params: { path: { id: keyId } },
    body: { fingerprint: device.fingerprint, name: device.name, os: device.os },
  });
  if (response.ok) return true;
  const refusal = WardenError.from(response, error);
  if (refusal.code === 'ROUTE_NOT_FOUND') return false;
  throw refusal;
}
