import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * What a spent token (a rotated refresh token, a used install token) was exchanged for, sealed so
 * that only a holder of that token can read it back: AES-256-GCM under a key derived with
 * HKDF-SHA256 from the token itself, which the database keeps only as a SHA-256 digest. A retry
 * gets the very same credentials, yet neither the table nor a copy of it reveals a usable token. The installation id is the
 * HKDF salt and the associated data, so a ciphertext moved to another installation fails.
 */
const INFO = 'warden refresh-token replay v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const keyOf = (refreshToken: string, installationId: string) => Buffer.from(hkdfSync('sha256', refreshToken, installationId, INFO, 32));

export function sealReplay(refreshToken: string, installationId: string, pair: object): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(refreshToken, installationId), iv).setAAD(Buffer.from(installationId));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(pair), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
}

export function openReplay<T>(refreshToken: string, installationId: string, box: Buffer): T {
  const decipher = createDecipheriv('aes-256-gcm', keyOf(refreshToken, installationId), box.subarray(0, IV_BYTES))
    .setAAD(Buffer.from(installationId))
    .setAuthTag(box.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return JSON.parse(Buffer.concat([decipher.update(box.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')) as T;
}
