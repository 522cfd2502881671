import { randomBytes } from 'node:crypto';
import type { Db } from '../db/db';
import { newId } from '../db/ids';
import { open, SealBrokenError, seal } from './aes-gcm';
import { DataKeyStore } from './data-key-store';
import { KEY_BYTES, type KeyManager } from './key-manager';

/** Where a secret belongs: its ciphertext opens only for the same org, purpose and row. */
export interface SecretContext {
  orgId: string;
  /** What the secret is, e.g. `vendor.api_key`. */
  purpose: string;
  rowId: string;
}

const VERSION = 'v1';
const CIPHERTEXT = /^v1:(dek_[0-9a-z]{1,64}):([A-Za-z0-9_-]+)$/;
/** Unwrapped data keys kept in memory; each is immutable under its id, so a cached one is never stale. */
const CACHED_KEYS = 1000;

/** A stored ciphertext does not open in its context: altered, copied from another row or org, or under another KEK. */
export class SecretUnreadableError extends Error {}

/**
 * Envelope encryption of the secrets Warden must read back (DESIGN.md §7): AES-256-GCM under a
 * random per-org data key, itself wrapped by the KeyManager's key-encryption key. A ciphertext is
 * `v1:<data key id>:<base64url(iv ‖ tag ‖ ciphertext)>`; its AAD binds it to the version, the
 * data key, the org, the purpose and the row, so it cannot be moved to another row or org.
 */
export class EnvelopeCipher {
  private readonly store: DataKeyStore;
  private readonly unwrapped = new Map<string, Promise<Buffer>>();

  constructor(
    db: Db,
    private readonly keys: KeyManager,
  ) {
    this.store = new DataKeyStore(db);
  }

  async encrypt(context: SecretContext, plaintext: string): Promise<string> {
    const { id, key } = await this.orgKey(context.orgId);
    const sealed = seal(key, Buffer.from(plaintext, 'utf8'), aadOf(id, context));
    return `${VERSION}:${id}:${sealed.toString('base64url')}`;
  }

  async decrypt(context: SecretContext, ciphertext: string): Promise<string> {
    const match = CIPHERTEXT.exec(ciphertext);
    if (!match) throw new SecretUnreadableError('The stored ciphertext is not in a format this Warden reads.');
    const dataKeyId = match[1]!;
    const key = await this.dataKey(dataKeyId, context.orgId);
    try {
      return open(key, Buffer.from(match[2]!, 'base64url'), aadOf(dataKeyId, context)).toString('utf8');
    } catch (error) {
      if (error instanceof SealBrokenError) throw new SecretUnreadableError(`The stored secret does not open: ${error.message}.`);
      throw error;
    }
  }

  /** The org's data key, made on first use; a concurrent first use by another request yields one key. */
  private async orgKey(orgId: string): Promise<{ id: string; key: Buffer }> {
    const existing = await this.store.findForOrg(orgId);
    if (existing) return { id: existing.id, key: await this.dataKey(existing.id, orgId) };
    const id = newId('dek');
    const key = randomBytes(KEY_BYTES);
    const { kekId, wrapped } = await this.keys.wrap(key, wrapContext(id, orgId));
    if (await this.store.insertIfAbsent({ id, org_id: orgId, kek_id: kekId, wrapped })) return { id, key };
    const winner = (await this.store.findForOrg(orgId))!;
    return { id: winner.id, key: await this.dataKey(winner.id, orgId) };
  }

  private dataKey(id: string, orgId: string): Promise<Buffer> {
    const cacheKey = `${orgId}/${id}`;
    let key = this.unwrapped.get(cacheKey);
    if (!key) {
      key = this.unwrap(id, orgId);
      key.catch(() => this.unwrapped.delete(cacheKey));
      if (this.unwrapped.size >= CACHED_KEYS) this.unwrapped.delete(this.unwrapped.keys().next().value!);
      this.unwrapped.set(cacheKey, key);
    }
    return key;
  }

  private async unwrap(id: string, orgId: string): Promise<Buffer> {
    const row = await this.store.find(id, orgId);
    if (!row) throw new SecretUnreadableError('The ciphertext names a data key this org does not hold.');
    try {
      return await this.keys.unwrap(row.kek_id, row.wrapped, wrapContext(id, orgId));
    } catch (error) {
      if (error instanceof SealBrokenError) throw new SecretUnreadableError(`The org's data key does not unwrap: ${error.message}.`);
      throw error;
    }
  }
}

const aadOf = (dataKeyId: string, context: SecretContext) =>
  `warden:${VERSION}:secret|${dataKeyId}|${context.orgId}|${context.purpose}|${context.rowId}`;
const wrapContext = (dataKeyId: string, orgId: string) => `warden:${VERSION}:data-key|${dataKeyId}|${orgId}`;
