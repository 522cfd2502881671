import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import { open, seal } from '../src/crypto/aes-gcm';
import { EnvelopeCipher, SecretUnreadableError } from '../src/crypto/envelope';
import { dataDirKey, keyManagerFor, LocalKeyManager, MissingKeyManager, parseEncryptionKey } from '../src/crypto/key-manager';
import { Db } from '../src/db/db';
import type { ServiceUnavailableError } from '../src/errors/api-error';
import { openTestDatabase, type TestDatabase } from './support/test-database';

describe('WARDEN_ENCRYPTION_KEY', () => {
  it('takes 32 bytes as hex or base64 (standard or URL-safe), and refuses other lengths without echoing the value', () => {
    const key = randomBytes(32);
    assert.deepEqual(parseEncryptionKey(key.toString('hex')), key);
    assert.deepEqual(parseEncryptionKey(key.toString('base64')), key);
    assert.deepEqual(parseEncryptionKey(` ${key.toString('base64url')}\n`), key);
    assert.match(String(parseEncryptionKey(randomBytes(16).toString('base64'))), /decodes to 16 bytes/);
    assert.match(String(parseEncryptionKey('not a key!')), /must be 32 bytes/);
    const secret = randomBytes(31).toString('base64');
    assert.throws(
      () => loadConfig({ WARDEN_ENCRYPTION_KEY: secret }),
      (error: Error) => /WARDEN_ENCRYPTION_KEY: must be 32 bytes/.test(error.message) && !error.message.includes(secret),
    );
    assert.deepEqual(loadConfig({ WARDEN_ENCRYPTION_KEY: key.toString('hex') }).encryptionKey, key);
    assert.equal(loadConfig({}).encryptionKey, undefined);
  });

  it('without it: generated into the data directory (0600) on the embedded database, refused with 503 on a real one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-kek-'));
    try {
      const warnings: string[] = [];
      const embedded = keyManagerFor({ configured: undefined, embedded: true, dataDir: join(dir, 'data'), warn: (m) => warnings.push(m) });
      assert.match(warnings[0]!, /encryption\.key/);
      const { kekId, wrapped } = await embedded.wrap(Buffer.alloc(32, 7), 'ctx');
      const file = join(dir, 'data', 'encryption.key');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      // A second instance (or a restart) reads the same key.
      assert.deepEqual(await new LocalKeyManager(dataDirKey(join(dir, 'data'))).unwrap(kekId, wrapped, 'ctx'), Buffer.alloc(32, 7));
      assert.equal(readFileSync(file, 'utf8').trim().length, 44);
      // A damaged key file stops the first use instead of silently making a new key (which would orphan every secret).
      writeFileSync(join(dir, 'encryption.key'), 'short');
      assert.throws(() => dataDirKey(dir)(), /encryption\.key: must be 32 bytes/);

      const server = keyManagerFor({ configured: undefined, embedded: false, dataDir: dir, warn: (m) => warnings.push(m) });
      assert.ok(server instanceof MissingKeyManager);
      assert.match(warnings[1]!, /ENCRYPTION_KEY_MISSING/);
      await assert.rejects(
        server.wrap(),
        (error: ServiceUnavailableError) => error.status === 503 && error.code === 'ENCRYPTION_KEY_MISSING',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('AES-256-GCM seal', () => {
  it('opens only with the same key and AAD, and refuses any altered byte', () => {
    const key = randomBytes(32);
    const sealed = seal(key, Buffer.from('hello'), 'aad');
    assert.equal(open(key, sealed, 'aad').toString(), 'hello');
    assert.notDeepEqual(seal(key, Buffer.from('hello'), 'aad'), sealed, 'a fresh IV every time');
    assert.throws(() => open(key, sealed, 'other aad'), /does not authenticate/);
    assert.throws(() => open(randomBytes(32), sealed, 'aad'), /does not authenticate/);
    for (const index of [0, 12, 20, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[index]! ^= 1;
      assert.throws(() => open(key, altered, 'aad'), /does not authenticate/);
    }
    assert.throws(() => open(key, sealed.subarray(0, 10), 'aad'), /too short/);
  });
});

describe('envelope encryption (per-org data keys under a KEK)', () => {
  let database: TestDatabase;
  let db: Db;
  const kek = randomBytes(32);
  const orgs = ['org_cryptoa', 'org_cryptob'];

  before(async () => {
    database = await openTestDatabase();
    db = new Db(database.dataSource);
    for (const id of orgs) await database.dataSource.query(`INSERT INTO orgs (id, name, plan) VALUES ($1, $1, 'free')`, [id]);
  });
  after(() => database.close());

  const context = (orgId = orgs[0]!, rowId = 'vnd_1') => ({ orgId, purpose: 'vendor.api_key', rowId });

  it('round-trips; the ciphertext is versioned, names its data key and differs from the plaintext and between calls', async () => {
    const cipher = new EnvelopeCipher(db, new LocalKeyManager(() => kek));
    const first = await cipher.encrypt(context(), 'sk-secret-value');
    const second = await cipher.encrypt(context(), 'sk-secret-value');
    assert.match(first, /^v1:dek_[0-9a-z]+:/);
    assert.ok(!first.includes('sk-secret-value'));
    assert.notEqual(first, second);
    assert.equal(first.split(':')[1], second.split(':')[1], 'one data key per org');
    assert.equal(await cipher.decrypt(context(), first), 'sk-secret-value');
    // A fresh process (empty cache) with the same KEK reads it too.
    assert.equal(await new EnvelopeCipher(db, new LocalKeyManager(() => kek)).decrypt(context(), first), 'sk-secret-value');
  });

  it('refuses a tampered ciphertext, another row, another org, another purpose and another KEK', async () => {
    const cipher = new EnvelopeCipher(db, new LocalKeyManager(() => kek));
    const ciphertext = await cipher.encrypt(context(), 'sk-secret-value');
    const body = ciphertext.split(':')[2]!;
    const flipped = `${ciphertext.slice(0, -body.length)}${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
    await assert.rejects(cipher.decrypt(context(), flipped), SecretUnreadableError);
    await assert.rejects(cipher.decrypt(context(), 'v2:dek_x:AAAA'), SecretUnreadableError);
    await assert.rejects(cipher.decrypt(context(orgs[0], 'vnd_2'), ciphertext), SecretUnreadableError);
    await assert.rejects(cipher.decrypt({ ...context(), purpose: 'other' }, ciphertext), SecretUnreadableError);
    // Org B holds no such data key; and its own ciphertexts use a key of its own.
    await assert.rejects(cipher.decrypt(context(orgs[1]), ciphertext), /data key this org does not hold/);
    const theirs = await cipher.encrypt(context(orgs[1]), 'sk-secret-value');
    assert.notEqual(theirs.split(':')[1], ciphertext.split(':')[1]);
    const wrongKek = new EnvelopeCipher(db, new LocalKeyManager(() => randomBytes(32)));
    await assert.rejects(wrongKek.decrypt(context(), ciphertext), /wrapped by key-encryption key/);
  });

  it('without a KEK refuses to store or read with 503 ENCRYPTION_KEY_MISSING', async () => {
    const ciphertext = await new EnvelopeCipher(db, new LocalKeyManager(() => kek)).encrypt(context(), 'sk-secret-value');
    const none = new EnvelopeCipher(db, new MissingKeyManager());
    await assert.rejects(none.encrypt(context(), 'x'), { code: 'ENCRYPTION_KEY_MISSING' });
    await assert.rejects(none.decrypt(context(), ciphertext), { code: 'ENCRYPTION_KEY_MISSING' });
  });
});
