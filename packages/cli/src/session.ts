import { createWardenClient, type WardenClient } from '@warden/sdk';
import { type AuthFile, readAuthFile } from './auth-file.js';
import { thisDevice } from './device.js';
import { CliError } from './output.js';

export const DEFAULT_BACKEND = 'http://localhost:9300';

/** The backend: the command's option, WARDEN_BACKEND_URL, the one logged in to, or a local Warden. */
export function backendUrl(option?: string, auth?: AuthFile): string {
  return (option || process.env.WARDEN_BACKEND_URL || auth?.backend_url || DEFAULT_BACKEND).replace(/\/+$/, '');
}

export interface Session {
  client: WardenClient;
  auth: AuthFile | undefined;
  backend: string;
}

/**
 * A client with the stored key (or WARDEN_API_KEY, for CI), sent from this device: a
 * device-bound key only works from a machine it was bound on with `warden login`.
 */
export function session(backendOption?: string): Session {
  const auth = readAuthFile();
  const apiKey = process.env.WARDEN_API_KEY?.trim() || auth?.api_key;
  if (!apiKey) throw new CliError("Not logged in. Run 'warden login' to authenticate (or set WARDEN_API_KEY).");
  const backend = backendUrl(backendOption, auth);
  return { client: createWardenClient({ baseUrl: backend, apiKey, device: thisDevice().fingerprint }), auth, backend };
}

/** `sk_live_abc...xyz`: enough to tell keys apart, never enough to use one. */
export function maskKey(key: string): string {
  const prefix = /^sk_(live|test)_/.exec(key)?.[0] ?? '';
  const secret = key.slice(prefix.length);
  return secret.length <= 6 ? `${prefix}...` : `${prefix}${secret.slice(0, 3)}...${secret.slice(-3)}`;
}
