import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isWellFormedSecret, newSecret } from '../src/auth/credentials';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, rowCounts, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('API keys (seeds 003 and 004)', () => {
  let warden: TestApp;
  let org: TestOrg;
  const handled: string[] = [];
  const withKey = (key: string) => ({ 'X-API-Key': key });

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise');
    handled.push(org.key);
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /api-keys returns the secret once (sk_live_ + checksum); the database holds only its SHA-256', async () => {
    const res = await warden.request
      .post('/api/v1/api-keys')
      .set(withKey(org.key))
      .send({ name: 'CI deploys', description: 'Used by the deploy pipeline', expires_in_days: 30, permissions: ['workspace.read'] })
      .expect(201);
    handled.push(res.body.key);
    assert.match(res.body.key, /^sk_live_[A-Za-z0-9]{38}$/);
    assert.ok(isWellFormedSecret(res.body.key, 'sk_live'));
    assert.equal(res.body.prefix, res.body.key.slice(0, 12));
    assert.equal(res.body.last_four, res.body.key.slice(-4));
    assert.deepEqual(res.body.permissions, ['workspace.read']);
    const days = (new Date(res.body.expires_at).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29.99 && days <= 30, `expires in ${days} days`);
    const [row] = await warden.database.dataSource.query(
      `SELECT encode(secret_digest, 'hex') AS digest FROM api_key_secrets WHERE api_key_id = $1`,
      [res.body.id],
    );
    assert.equal(row.digest, createHash('sha256').update(res.body.key).digest('hex'));

    const me = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${res.body.key}`).expect(200);
    assert.deepEqual(me.body.permissions, ['workspace.read']);
    // Its permissions are all it has: listing keys needs api_key.read.
    const denied = await warden.request.get('/api/v1/api-keys').set(withKey(res.body.key)).expect(403);
    assert.match(denied.body.message, /'api_key\.read'/);
  });

  it('GET /api-keys lists prefix and last four, never a secret, with last_used_at', async () => {
    const res = await warden.request.get('/api/v1/api-keys').set(withKey(org.key)).expect(200);
    assert.ok(res.body.api_keys.length >= 2);
    const text = JSON.stringify(res.body);
    for (const secret of handled) assert.ok(!text.includes(secret));
    const owner = res.body.api_keys.find((key: { id: string }) => key.id === org.keyId);
    assert.ok(owner.last_used_at, 'the key in use has last_used_at');
    assert.equal(owner.key, undefined);
  });

  it('sk_test_ keys, custom expiry up to a year, and the default of 365 days', async () => {
    const test = await warden.request.post('/api/v1/api-keys').set(withKey(org.key)).send({ name: 'sandbox', mode: 'test' }).expect(201);
    handled.push(test.body.key);
    assert.match(test.body.key, /^sk_test_/);
    assert.equal(test.body.mode, 'test');
    const days = (new Date(test.body.expires_at).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 364.99 && days <= 365);
    await warden.request.get('/api/v1/auth/me').set(withKey(test.body.key)).expect(200);

    const at = new Date(Date.now() + 200 * 86_400_000).toISOString();
    const custom = await warden.request.post('/api/v1/api-keys').set(withKey(org.key)).send({ name: 'custom', expires_at: at }).expect(201);
    handled.push(custom.body.key);
    assert.equal(custom.body.expires_at, at);
  });

  it('422 for expiry out of range, both expiries at once, unknown or platform permissions; nothing is created', async () => {
    const before = await rowCounts(warden, ['api_keys', 'api_key_secrets']);
    const tooFar = new Date(Date.now() + 366 * 86_400_000).toISOString();
    const cases: Array<[object, string]> = [
      [{ name: 'x', expires_at: tooFar }, 'EXPIRY_OUT_OF_RANGE'],
      [{ name: 'x', expires_at: new Date(Date.now() - 1000).toISOString() }, 'EXPIRY_OUT_OF_RANGE'],
      [{ name: 'x', expires_in_days: 30, expires_at: tooFar }, 'EXPIRY_AMBIGUOUS'],
      [{ name: 'x', expires_in_days: 31 }, 'VALIDATION_FAILED'],
      [{ name: 'x', permissions: ['workspace.fly'] }, 'UNKNOWN_PERMISSION'],
      [{ name: 'x', permissions: ['org.create'] }, 'UNKNOWN_PERMISSION'],
      [{ name: '' }, 'VALIDATION_FAILED'],
    ];
    for (const [body, code] of cases) {
      const res = await warden.request.post('/api/v1/api-keys').set(withKey(org.key)).send(body).expect(422);
      assert.equal(res.body.code, code, JSON.stringify(body));
    }
    assert.deepEqual(await rowCounts(warden, ['api_keys', 'api_key_secrets']), before);
  });

  it('nobody creates a key with permissions they lack (403 naming them), and a key cannot mint a wider key', async () => {
    const member = await createUserAndLogin(warden, org, 'member@example.com', 'member');
    const res = await warden.request
      .post('/api/v1/api-keys')
      .set('Authorization', `Bearer ${member.token}`)
      .send({ name: 'escalate', permissions: ['api_key.edit'] })
      .expect(403);
    assert.equal(res.body.code, 'PERMISSION_DENIED'); // members lack api_key.edit itself

    const narrow = await warden.request
      .post('/api/v1/api-keys')
      .set(withKey(org.key))
      .send({ name: 'narrow', permissions: ['api_key.edit', 'workspace.read'] })
      .expect(201);
    handled.push(narrow.body.key);
    const before = await rowCounts(warden, ['api_keys']);
    const wider = await warden.request
      .post('/api/v1/api-keys')
      .set(withKey(narrow.body.key))
      .send({ name: 'wider', permissions: ['workspace.read', 'workspace.delete', 'role.edit'] })
      .expect(403);
    assert.equal(wider.body.code, 'PRIVILEGE_ESCALATION');
    assert.match(wider.body.message, /workspace\.delete, role\.edit/);
    assert.deepEqual(await rowCounts(warden, ['api_keys']), before);
    // Without a list, a key gets exactly the creator's permissions.
    const same = await warden.request.post('/api/v1/api-keys').set(withKey(narrow.body.key)).send({ name: 'same' }).expect(201);
    handled.push(same.body.key);
    assert.deepEqual(same.body.permissions.sort(), ['api_key.edit', 'workspace.read']);
  });

  it('DELETE /api-keys/{id} revokes at once: the next request is 401 CREDENTIAL_REVOKED; revoking again is a no-op', async () => {
    const created = await warden.request.post('/api/v1/api-keys').set(withKey(org.key)).send({ name: 'short-lived' }).expect(201);
    handled.push(created.body.key);
    await warden.request.get('/api/v1/auth/me').set(withKey(created.body.key)).expect(200);
    const revoked = await warden.request.delete(`/api/v1/api-keys/${created.body.id}`).set(withKey(org.key)).expect(200);
    assert.ok(revoked.body.revoked_at);
    const refused = await warden.request.get('/api/v1/auth/me').set(withKey(created.body.key)).expect(401);
    assert.equal(refused.body.code, 'CREDENTIAL_REVOKED');
    const again = await warden.request.delete(`/api/v1/api-keys/${created.body.id}`).set(withKey(org.key)).expect(200);
    assert.equal(again.body.revoked_at, revoked.body.revoked_at);
    await warden.request.delete('/api/v1/api-keys/key_doesnotexist').set(withKey(org.key)).expect(404);
    const roll = await warden.request.post(`/api/v1/api-keys/${created.body.id}/roll`).set(withKey(org.key)).send({}).expect(409);
    assert.equal(roll.body.code, 'API_KEY_REVOKED');
  });

  it('an expired key is 401 CREDENTIAL_EXPIRED and cannot be rolled', async () => {
    const created = await warden.request.post('/api/v1/api-keys').set(withKey(org.key)).send({ name: 'expiring' }).expect(201);
    handled.push(created.body.key);
    await warden.database.dataSource.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [created.body.id]);
    const res = await warden.request.get('/api/v1/auth/me').set(withKey(created.body.key)).expect(401);
    assert.equal(res.body.code, 'CREDENTIAL_EXPIRED');
    const roll = await warden.request.post(`/api/v1/api-keys/${created.body.id}/roll`).set(withKey(org.key)).expect(409);
    assert.equal(roll.body.code, 'API_KEY_EXPIRED');
  });

  it('POST /api-keys/{id}/roll: a new secret; the old one works until its grace period ends', async () => {
    const created = await warden.request.post('/api/v1/api-keys').set(withKey(org.key)).send({ name: 'rolling' }).expect(201);
    const old = created.body.key;
    handled.push(old);
    const rolled = await warden.request
      .post(`/api/v1/api-keys/${created.body.id}/roll`)
      .set(withKey(org.key))
      .send({ grace_period_seconds: 3600 })
      .expect(200);
    handled.push(rolled.body.key);
    assert.notEqual(rolled.body.key, old);
    assert.equal(rolled.body.id, created.body.id);
    assert.equal(rolled.body.prefix, rolled.body.key.slice(0, 12));
    const oldMe = await warden.request.get('/api/v1/auth/me').set(withKey(old)).expect(200);
    const newMe = await warden.request.get('/api/v1/auth/me').set(withKey(rolled.body.key)).expect(200);
    // The retiring secret (perhaps the leaked one) keeps working but cannot manage keys: rolling
    // again from it would otherwise hand it the only live secret and lock the new one out.
    assert.ok(newMe.body.permissions.includes('api_key.edit'));
    assert.ok(!oldMe.body.permissions.includes('api_key.edit'));
    const reroll = await warden.request
      .post(`/api/v1/api-keys/${created.body.id}/roll`)
      .set(withKey(old))
      .send({ grace_period_seconds: 0 })
      .expect(403);
    assert.equal(reroll.body.code, 'PERMISSION_DENIED');
    await warden.request.post('/api/v1/api-keys').set(withKey(old)).send({ name: 'from the old secret' }).expect(403);
    await warden.request.delete(`/api/v1/api-keys/${created.body.id}`).set(withKey(old)).expect(403);
    await warden.request.get('/api/v1/auth/me').set(withKey(rolled.body.key)).expect(200);
    // The grace period ends: the old secret is refused, the new one still works.
    await warden.database.dataSource.query(
      `UPDATE api_key_secrets SET retires_at = now() WHERE retires_at IS NOT NULL AND api_key_id = $1`,
      [created.body.id],
    );
    const refused = await warden.request.get('/api/v1/auth/me').set(withKey(old)).expect(401);
    assert.equal(refused.body.code, 'CREDENTIAL_EXPIRED');
    await warden.request.get('/api/v1/auth/me').set(withKey(rolled.body.key)).expect(200);

    // Without a body the grace period is 0: the previous secret stops at once.
    const again = await warden.request.post(`/api/v1/api-keys/${created.body.id}/roll`).set(withKey(org.key)).expect(200);
    handled.push(again.body.key);
    await warden.request.get('/api/v1/auth/me').set(withKey(rolled.body.key)).expect(401);
    await warden.request.get('/api/v1/auth/me').set(withKey(again.body.key)).expect(200);
    await warden.request
      .post(`/api/v1/api-keys/${created.body.id}/roll`)
      .set(withKey(org.key))
      .send({ grace_period_seconds: 86_401 })
      .expect(422);
  });

  it('rolling hands out a secret, so it needs every permission of the key: 403 PRIVILEGE_ESCALATION naming the missing ones', async () => {
    // A viewer given a custom role with just api_key.read + api_key.edit.
    const viewer = await createUserAndLogin(warden, org, 'key-clerk@example.com', 'viewer');
    const role = await warden.request
      .post('/api/v1/roles')
      .set(withKey(org.key))
      .send({ name: 'key-clerk', permissions: ['api_key.read', 'api_key.edit'] })
      .expect(201);
    await warden.request.post('/api/v1/user-roles').set(withKey(org.key)).send({ user_id: viewer.id, role_id: role.body.id }).expect(201);
    const asViewer = { Authorization: `Bearer ${viewer.token}` };

    const before = await rowCounts(warden, ['api_key_secrets']);
    const res = await warden.request
      .post(`/api/v1/api-keys/${org.keyId}/roll`)
      .set(asViewer)
      .send({ grace_period_seconds: 3600 })
      .expect(403);
    assert.equal(res.body.code, 'PRIVILEGE_ESCALATION');
    assert.match(res.body.message, /owner\.grant/);
    assert.ok(res.body.details.some((detail: { message: string }) => detail.message === 'you do not hold user_role.edit'));
    assert.equal(res.body.key, undefined);
    assert.deepEqual(await rowCounts(warden, ['api_key_secrets']), before);
    await warden.request.get('/api/v1/auth/me').set(withKey(org.key)).expect(200);

    // A key whose permissions the caller holds can be rolled.
    const readOnly = await warden.request
      .post('/api/v1/api-keys')
      .set(withKey(org.key))
      .send({ name: 'reader', permissions: ['api_key.read'] })
      .expect(201);
    handled.push(readOnly.body.key);
    const rolled = await warden.request.post(`/api/v1/api-keys/${readOnly.body.id}/roll`).set(asViewer).expect(200);
    handled.push(rolled.body.key);
    assert.deepEqual(rolled.body.permissions, ['api_key.read']);
  });

  it('a weaker credential cannot edit, bind, unbind or revoke a stronger key (403 PRIVILEGE_ESCALATION); equal, stronger and itself may', async () => {
    const make = async (name: string, permissions: string[]) => {
      const res = await warden.request.post('/api/v1/api-keys').set(withKey(org.key)).send({ name, permissions }).expect(201);
      handled.push(res.body.key);
      return res.body as { id: string; key: string };
    };
    const held = ['api_key.edit', 'api_key.read', 'workspace.read'];
    const weak = await make('weak', held);
    const peer = await make('peer', held);
    const strong = await make('strong', [...held, 'workspace.delete']);
    const asWeak = withKey(weak.key);
    const device = (n: string) => ({ fingerprint: n.repeat(64), name: 'laptop', os: 'linux' });
    // The stronger owner key binds a device to the strong key: allowed.
    const bound = await warden.request.post(`/api/v1/api-keys/${strong.id}/devices`).set(withKey(org.key)).send(device('a')).expect(201);

    const before = await rowCounts(warden, ['api_keys', 'api_key_devices']);
    const refusals = [
      warden.request
        .patch(`/api/v1/api-keys/${org.keyId}`)
        .set(asWeak)
        .send({ permissions: ['workspace.read'] }),
      warden.request.patch(`/api/v1/api-keys/${org.keyId}`).set(asWeak).send({ rate_limit_per_minute: 1 }),
      warden.request.post(`/api/v1/api-keys/${org.keyId}/devices`).set(asWeak).send(device('b')),
      warden.request.delete(`/api/v1/api-keys/${strong.id}/devices/${bound.body.id}`).set(asWeak),
      warden.request.post(`/api/v1/api-keys/${strong.id}/roll`).set(asWeak).send({}),
      warden.request.delete(`/api/v1/api-keys/${org.keyId}`).set(asWeak),
      warden.request.delete(`/api/v1/api-keys/${strong.id}`).set(asWeak),
    ];
    for (const res of await Promise.all(refusals)) {
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'PRIVILEGE_ESCALATION');
    }
    assert.deepEqual(await rowCounts(warden, ['api_keys', 'api_key_devices']), before);
    const owner = await warden.request.get('/api/v1/auth/me').set(withKey(org.key)).expect(200);
    assert.equal(owner.body.api_key.id, org.keyId);
    await warden.request.get('/api/v1/auth/me').set(withKey(strong.key)).set('X-Warden-Device', 'a'.repeat(64)).expect(200);
    const keys = await warden.request.get('/api/v1/api-keys?limit=100').set(withKey(org.key)).expect(200);
    const ownerRow = keys.body.api_keys.find((key: { id: string }) => key.id === org.keyId);
    assert.equal(ownerRow.rate_limit_per_minute, null);
    assert.equal(ownerRow.revoked_at, null);

    // A key of equal permissions: every change is allowed.
    await warden.request.patch(`/api/v1/api-keys/${peer.id}`).set(asWeak).send({ rate_limit_per_minute: 50 }).expect(200);
    const peerDevice = await warden.request.post(`/api/v1/api-keys/${peer.id}/devices`).set(asWeak).send(device('c')).expect(201);
    await warden.request.delete(`/api/v1/api-keys/${peer.id}/devices/${peerDevice.body.id}`).set(asWeak).expect(204);
    await warden.request.delete(`/api/v1/api-keys/${peer.id}`).set(asWeak).expect(200);
    // The stronger owner key acts on the strong key.
    await warden.request.delete(`/api/v1/api-keys/${strong.id}/devices/${bound.body.id}`).set(withKey(org.key)).expect(204);
    await warden.request.delete(`/api/v1/api-keys/${strong.id}`).set(withKey(org.key)).expect(200);
    // A key acting on itself.
    await warden.request.patch(`/api/v1/api-keys/${weak.id}`).set(asWeak).send({ name: 'weak, renamed' }).expect(200);
    await warden.request.delete(`/api/v1/api-keys/${weak.id}`).set(asWeak).expect(200);
    await warden.request.get('/api/v1/auth/me').set(asWeak).expect(401);
  });

  it("a key acts with its permissions ∩ its creator's current ones; a deleted creator's keys stop working", async () => {
    const clerk = await createUserAndLogin(warden, org, 'deployer@example.com', 'viewer');
    const role = await warden.request
      .post('/api/v1/roles')
      .set(withKey(org.key))
      .send({ name: 'deployer', permissions: ['api_key.edit', 'workspace.edit'] })
      .expect(201);
    const assignment = await warden.request
      .post('/api/v1/user-roles')
      .set(withKey(org.key))
      .send({ user_id: clerk.id, role_id: role.body.id })
      .expect(201);
    const key = await warden.request
      .post('/api/v1/api-keys')
      .set('Authorization', `Bearer ${clerk.token}`)
      .send({ name: 'deploys', permissions: ['api_key.edit', 'workspace.edit', 'workspace.read'] })
      .expect(201);
    handled.push(key.body.key);
    assert.equal(key.body.created_by, clerk.id);
    // A key made with that key answers to the same user.
    const child = await warden.request
      .post('/api/v1/api-keys')
      .set(withKey(key.body.key))
      .send({ name: 'child', permissions: ['workspace.edit'] })
      .expect(201);
    handled.push(child.body.key);
    assert.equal(child.body.created_by, clerk.id);
    const permissionsOf = async (secret: string) =>
      (await warden.request.get('/api/v1/auth/me').set(withKey(secret)).expect(200)).body.permissions;
    assert.deepEqual(await permissionsOf(key.body.key), ['api_key.edit', 'workspace.edit', 'workspace.read']);

    // The role goes: the keys keep only what the creator still holds (a viewer reads workspaces).
    await warden.request.delete(`/api/v1/user-roles/${assignment.body.id}`).set(withKey(org.key)).expect(204);
    assert.deepEqual(await permissionsOf(key.body.key), ['workspace.read']);
    assert.deepEqual(await permissionsOf(child.body.key), []);
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(withKey(key.body.key)).send({ name: 'nope' }).expect(403);
    // It comes back: so do the key's permissions, never more than the key's own list.
    await warden.request.post('/api/v1/user-roles').set(withKey(org.key)).send({ user_id: clerk.id, role_id: role.body.id }).expect(201);
    assert.deepEqual(await permissionsOf(key.body.key), ['api_key.edit', 'workspace.edit', 'workspace.read']);

    // The user is deleted: their keys stop working instead of losing their bound.
    await warden.database.dataSource.query(`DELETE FROM users WHERE id = $1`, [clerk.id]);
    for (const secret of [key.body.key, child.body.key]) {
      const refused = await warden.request.get('/api/v1/auth/me').set(withKey(secret)).expect(401);
      assert.equal(refused.body.code, 'CREDENTIAL_REVOKED');
      assert.match(refused.body.message, /no longer exists/);
    }
  });

  it('a key with a wrong checksum, an unknown key and a truncated key are 401 without a database lookup', async () => {
    const flipped = org.key.slice(0, -1) + (org.key.endsWith('a') ? 'b' : 'a');
    const malformed = await warden.request.get('/api/v1/auth/me').set(withKey(flipped)).expect(401);
    assert.equal(malformed.body.code, 'CREDENTIAL_MALFORMED');
    await warden.request
      .get('/api/v1/auth/me')
      .set(withKey(org.key.slice(0, 20)))
      .expect(401);
    // Well-formed (valid checksum) but never issued.
    const unknown = await warden.request
      .get('/api/v1/auth/me')
      .set(withKey(newSecret('sk_live')))
      .expect(401);
    assert.equal(unknown.body.code, 'CREDENTIAL_INVALID');
  });

  it('the free plan allows 3 active keys: the 4th is 402 with current_usage, exactly the seed-000 body', async () => {
    const free = await createOrg(warden, 'free', 'Free org');
    handled.push(free.key);
    for (let i = 0; i < 2; i++) {
      const res = await warden.request
        .post('/api/v1/api-keys')
        .set(withKey(free.key))
        .send({ name: `k${i}` })
        .expect(201);
      handled.push(res.body.key);
    }
    const res = await warden.request.post('/api/v1/api-keys').set(withKey(free.key)).send({ name: 'one too many' }).expect(402);
    assert.deepEqual(
      { ...res.body, request_id: undefined },
      {
        error: 'plan_limit_exceeded',
        message: 'Your current plan (free) allows 3 api keys. Upgrade to starter or higher.',
        code: 'API_KEYS_LIMIT_REACHED',
        required_plan: 'starter',
        upgrade_url: warden.config.upgradeUrl,
        current_usage: { current: 3, max: 3 },
        request_id: undefined,
      },
    );
  });

  it('concurrent creations against a quota: exactly the quota is created', async () => {
    const free = await createOrg(warden, 'free', 'Race org');
    handled.push(free.key);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        warden.request
          .post('/api/v1/api-keys')
          .set(withKey(free.key))
          .send({ name: `race${i}` }),
      ),
    );
    for (const res of results) if (res.status === 201) handled.push(res.body.key);
    assert.equal(results.filter((res) => res.status === 201).length, 2);
    assert.equal(results.filter((res) => res.status === 402).length, 4);
  });
});
