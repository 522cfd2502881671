import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceUnavailableError } from '../errors/api-error';
import { open, SealBrokenError, seal } from './aes-gcm';

/**
 * Wraps and unwraps data keys with a key-encryption key (KEK). Only this interface knows where
 * the KEK lives: the local one from WARDEN_ENCRYPTION_KEY now, a cloud KMS later. Each wrapped
 * key is stored beside the id of the KEK that wrapped it, so a KEK rotation can re-wrap them.
 */
export interface KeyManager {
  wrap(dataKey: Buffer, context: string): Promise<{ kekId: string; wrapped: Buffer }>;
  unwrap(kekId: string, wrapped: Buffer, context: string): Promise<Buffer>;
}

export const KEY_BYTES = 32;

/**
 * WARDEN_ENCRYPTION_KEY: 32 bytes as 64 hex characters or as base64 (standard or URL-safe).
 * Returns the key, or why the value is refused (never echoing it: it is a secret).
 */
export function parseEncryptionKey(raw: string): Buffer | string {
  const value = raw.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
    return `must be 32 bytes, as 64 hex characters or base64; this value decodes to ${key.length} bytes`;
  }
  return 'must be 32 bytes, as 64 hex characters or base64 (e.g. the output of `openssl rand -base64 32`)';
}

/** A KEK held in this process. Its id is a digest prefix, so two instances with the same key agree on it. */
export class LocalKeyManager implements KeyManager {
  private loaded: { kek: Buffer; kekId: string } | undefined;

  /** `loadKek` runs on first use: a key generated into the data directory is made only when a secret is stored. */
  constructor(private readonly loadKek: () => Buffer) {}

  private key(): { kek: Buffer; kekId: string } {
    if (!this.loaded) {
      const kek = this.loadKek();
      this.loaded = { kek, kekId: `local:${createHash('sha256').update(kek).digest('hex').slice(0, 16)}` };
    }
    return this.loaded;
  }

  async wrap(dataKey: Buffer, context: string) {
    const { kek, kekId } = this.key();
    return { kekId, wrapped: seal(kek, dataKey, context) };
  }

  async unwrap(kekId: string, wrapped: Buffer, context: string): Promise<Buffer> {
    const key = this.key();
    if (kekId !== key.kekId) {
      throw new SealBrokenError(`the data key was wrapped by key-encryption key ${kekId}, not by this instance's ${key.kekId}`);
    }
    return open(key.kek, wrapped, context);
  }
}

/** No KEK on a real Postgres: nothing secret can be stored or read, and the caller is told why. */
export class MissingKeyManager implements KeyManager {
  private refuse(): never {
    throw new ServiceUnavailableError(
      'Vendor credentials cannot be stored or read: this Warden has no WARDEN_ENCRYPTION_KEY. ' +
        'Set it to 32 random bytes (base64 or hex) and restart.',
      'ENCRYPTION_KEY_MISSING',
    );
  }

  async wrap(): Promise<never> {
    this.refuse();
  }

  async unwrap(): Promise<never> {
    this.refuse();
  }
}

export const GENERATED_KEY_FILE = 'encryption.key';

/**
 * The KEK kept in the embedded database's data directory when none is configured: read if there,
 * else created with mode 0600 (by exclusive create, so two racing starts keep one key).
 */
export function dataDirKey(dataDir: string): () => Buffer {
  const path = join(dataDir, GENERATED_KEY_FILE);
  return () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    const key = parseEncryptionKey(readFileSync(path, 'utf8'));
    if (typeof key === 'string') throw new Error(`${path}: ${key}`);
    return key;
  };
}

/**
 * The KEK this instance uses: WARDEN_ENCRYPTION_KEY; else, on the embedded database, a key
 * generated into its data directory; else none (vendor secrets answer 503). The second and third
 * cases warn at start-up.
 */
export function keyManagerFor(options: {
  configured: Buffer | undefined;
  embedded: boolean;
  dataDir: string;
  warn: (message: string) => void;
}): KeyManager {
  if (options.configured) {
    const kek = options.configured;
    return new LocalKeyManager(() => kek);
  }
  if (options.embedded) {
    options.warn(
      `WARDEN_ENCRYPTION_KEY is not set: vendor credentials are encrypted with a key generated into ` +
        `${join(options.dataDir, GENERATED_KEY_FILE)} (mode 0600) when the first one is stored. ` +
        'Back it up with the data directory, or set WARDEN_ENCRYPTION_KEY.',
    );
    return new LocalKeyManager(dataDirKey(options.dataDir));
  }
  options.warn(
    'WARDEN_ENCRYPTION_KEY is not set: operations that store or read vendor credentials answer 503 ENCRYPTION_KEY_MISSING. ' +
      'Set it to 32 random bytes (base64 or hex).',
  );
  return new MissingKeyManager();
}
