import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './output.js';

/** ~/.warden/auth.json, seed 004's fields plus what re-verifying and calling the key's backend need. */
export interface AuthFile {
  api_key: string;
  device_fingerprint: string;
  device_name: string;
  os: string;
  org_id: string;
  workspace_id: string | null;
  key_id: string | null;
  backend_url: string;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WARDEN_CONFIG_DIR?.trim() || join(homedir(), '.warden');
}

export const authFilePath = (env: NodeJS.ProcessEnv = process.env) => join(configDir(env), 'auth.json');

/**
 * The stored credentials, or undefined when there are none. Like ssh with a private key, a
 * file others can read is refused: the key in it may already be exposed, and using it would hide that.
 */
export function readAuthFile(): AuthFile | undefined {
  const path = authFilePath();
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new CliError(
      `Permissions ${octal} for '${path}' are too open: the API key in it must not be readable by others.\n` +
        `Refusing to use it. Fix it with: chmod 600 ${path}  (and consider rolling the key: warden keys roll <id>)`,
    );
  }
  try {
    const auth = JSON.parse(readFileSync(path, 'utf8')) as AuthFile;
    if (typeof auth.api_key !== 'string') throw new Error('no api_key');
    return auth;
  } catch {
    throw new CliError(`'${path}' is not a Warden credentials file. Run 'warden logout' and 'warden login' again.`);
  }
}

/** Written to a private temporary file first, so the key is never in a file others could read, even briefly. */
export function writeAuthFile(auth: AuthFile): string {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = authFilePath();
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
  return path;
}

/** Removes the credentials file; false when there was none. */
export function removeAuthFile(): boolean {
  const path = authFilePath();
  try {
    statSync(path);
  } catch {
    return false;
  }
  rmSync(path, { force: true });
  return true;
}
