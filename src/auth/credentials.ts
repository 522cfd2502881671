import { type BinaryLike, createHash, randomBytes, type ScryptOptions, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;

function base62(bytes: Buffer, length: number): string {
  // Rejection sampling keeps every character uniform (256 is not a multiple of 62).
  let out = '';
  let pool = bytes;
  while (out.length < length) {
    for (const byte of pool) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
    pool = randomBytes(length);
  }
  return out;
}

function checksumOf(body: string): string {
  let value = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++, value = Math.floor(value / 62)) out = BASE62[value % 62] + out;
  return out;
}

/**
 * A secret handed to a caller: `<prefix>_` + 32 random base62 characters (190 bits) + a 6-character
 * CRC32 checksum of everything before it, so secret scanners and Warden itself can tell a
 * well-formed secret from a typo or a made-up string without a database lookup.
 */
export function newSecret(prefix: string): string {
  const body = `${prefix}_${base62(randomBytes(RANDOM_LENGTH + 8), RANDOM_LENGTH)}`;
  return body + checksumOf(body);
}

/** Whether a string has the shape and checksum of a secret with this prefix. */
export function isWellFormedSecret(secret: string, prefix: string): boolean {
  if (!secret.startsWith(`${prefix}_`) || secret.length !== prefix.length + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH) return false;
  if (!/^[A-Za-z0-9]+$/.test(secret.slice(prefix.length + 1))) return false;
  const body = secret.slice(0, -CHECKSUM_LENGTH);
  return checksumOf(body) === secret.slice(-CHECKSUM_LENGTH);
}

/** Secrets are stored as this digest only; lookups go by digest, so no comparison of secrets happens in Node. */
export function digestSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A uniformly random 6-digit PIN. */
export function newPin(): string {
  return String(randomBytes(4).readUInt32BE() % 1_000_000).padStart(6, '0');
}

const scrypt = (password: BinaryLike, salt: BinaryLike, length: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

/** OWASP's scrypt setting with 16 MiB of memory: N=2^14, r=8, p=5. */
const SCRYPT = { N: 2 ** 14, r: 8, p: 5, maxmem: 64 * 1024 * 1024 };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** A stored hash that matches no password, so an unknown email costs the same work as a wrong password. */
export const UNUSABLE_PASSWORD_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${zeroes(16)}$${zeroes(32)}`;

function zeroes(bytes: number): string {
  return Buffer.alloc(bytes).toString('base64');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return constantTimeEqual(actual, expected) && stored !== UNUSABLE_PASSWORD_HASH;
}
