import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createOrg, summary, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

const fingerprintOf = (machine: string) => createHash('sha256').update(machine).digest('hex');
const LAPTOP = fingerprintOf('laptop');
const DESKTOP = fingerprintOf('desktop');
const STRANGER = fingerprintOf('stranger');

describe('device binding: an API key bound to devices works only from them (seed 004)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;

  /** A key holding only workspace.read, made by the org's owner key: it cannot edit keys. */
  async function readOnlyKey(): Promise<{ id: string; key: string }> {
    const res = await warden.request
      .post('/api/v1/api-keys')
      .set('X-API-Key', org.key)
      .send({ name: 'CLI', permissions: ['workspace.read', 'org.read'] })
      .expect(201);
    return { id: res.body.id, key: res.body.key };
  }
  const bind = (keyId: string, credential: string, fingerprint: string, device?: string) => {
    const req = warden.request.post(`/api/v1/api-keys/${keyId}/devices`).set('Authorization', `Bearer ${credential}`);
    if (device) req.set('X-Warden-Device', device);
    return req.send({ fingerprint, name: 'MacBook-Pro', os: 'macos' });
  };
  const workspaces = (credential: string, device?: string) => {
    const req = warden.request.get(`/api/v1/orgs/${org.id}/workspaces`).set('X-API-Key', credential);
    return device ? req.set('X-Warden-Device', device) : req;
  };

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise', 'Device org');
    other = await createOrg(warden, 'enterprise', 'Other org');
  });
  after(() => warden.close());

  it('a key with no devices works with or without X-Warden-Device', async () => {
    const { key } = await readOnlyKey();
    await workspaces(key).expect(200);
    await workspaces(key, STRANGER).expect(200);
  });

  it('warden login: the key binds its own device (201, audited), a repeat answers the same device (200)', async () => {
    const { id, key } = await readOnlyKey();
    const res = await bind(id, key, LAPTOP).expect(201);
    assert.match(res.body.id, /^dev_[0-9a-z]{26}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, created_at: undefined },
      { id: undefined, api_key_id: id, fingerprint: LAPTOP, name: 'MacBook-Pro', os: 'macos', created_at: undefined, last_seen_at: null },
    );
    const event = await theAuditEventOf(warden, res);
    assert.deepEqual(summary(event), {
      org: org.id,
      action: 'api_key.device_bound',
      actor: ['api_key', id],
      resource: [event.resource_type, id],
      outcome: 'success',
    });
    const again = await bind(id, key, LAPTOP.toUpperCase(), LAPTOP).expect(200);
    assert.equal(again.body.id, res.body.id);
    const rows = await warden.database.dataSource.query(`SELECT fingerprint FROM api_key_devices WHERE api_key_id = $1`, [id]);
    assert.deepEqual(rows, [{ fingerprint: LAPTOP }]);
  });

  it('a bound key without X-Warden-Device, or naming another device, is 401 DEVICE_NOT_BOUND telling to run warden login', async () => {
    const { id, key } = await readOnlyKey();
    await bind(id, key, LAPTOP).expect(201);
    for (const device of [undefined, STRANGER, 'not-a-fingerprint']) {
      const res = await workspaces(key, device).expect(401);
      assert.equal(res.body.code, 'DEVICE_NOT_BOUND');
      assert.match(res.body.message, /run `warden login` again on this device/);
    }
    await workspaces(key, LAPTOP).expect(200);
    await workspaces(key, LAPTOP.toUpperCase()).expect(200);
    // The device's last use is recorded (to within a minute), without a write per request.
    const [device] = await warden.database.dataSource.query(`SELECT last_seen_at FROM api_key_devices WHERE api_key_id = $1`, [id]);
    assert.ok(device.last_seen_at instanceof Date);
  });

  it('from a new machine the key still answers who-am-I and binds that machine; then it works there too', async () => {
    const { id, key } = await readOnlyKey();
    await bind(id, key, LAPTOP).expect(201);
    const me = await warden.request
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${key}`)
      .set('X-Warden-Device', DESKTOP)
      .expect(200);
    assert.equal(me.body.api_key.id, id);
    await bind(id, key, DESKTOP, DESKTOP).expect(201);
    await workspaces(key, DESKTOP).expect(200);
    await workspaces(key, LAPTOP).expect(200);
    const list = await warden.request
      .get(`/api/v1/api-keys/${id}/devices`)
      .set('X-API-Key', key)
      .set('X-Warden-Device', LAPTOP)
      .expect(200);
    assert.deepEqual(
      list.body.devices.map((device: { fingerprint: string }) => device.fingerprint),
      [LAPTOP, DESKTOP],
    );
  });

  it('from an unbound device a key binds only itself: binding another key is DEVICE_NOT_BOUND', async () => {
    const target = await readOnlyKey();
    const editor = await warden.request
      .post('/api/v1/api-keys')
      .set('X-API-Key', org.key)
      .send({ name: 'editor', permissions: ['api_key.edit', 'api_key.read', 'workspace.read'] })
      .expect(201);
    await bind(editor.body.id, editor.body.key, LAPTOP).expect(201);
    const res = await bind(target.id, editor.body.key, DESKTOP, STRANGER).expect(401);
    assert.equal(res.body.code, 'DEVICE_NOT_BOUND');
    // From a bound device it still needs every permission of the target key (it lacks org.read)...
    const weaker = await bind(target.id, editor.body.key, DESKTOP, LAPTOP).expect(403);
    assert.equal(weaker.body.code, 'PRIVILEGE_ESCALATION');
    await warden.request
      .patch(`/api/v1/api-keys/${editor.body.id}`)
      .set('X-API-Key', org.key)
      .send({ permissions: ['api_key.edit', 'api_key.read', 'workspace.read', 'org.read'] })
      .expect(200);
    // ...and holding them, it binds.
    await bind(target.id, editor.body.key, DESKTOP, LAPTOP).expect(201);
  });

  it('another key needs api_key.edit / api_key.read (403); another org answers 404; bad input 422 / 400', async () => {
    const mine = await readOnlyKey();
    const theirs = await readOnlyKey();
    const denied = await bind(theirs.id, mine.key, LAPTOP).expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    await warden.request.get(`/api/v1/api-keys/${theirs.id}/devices`).set('X-API-Key', mine.key).expect(403);
    await bind(theirs.id, org.key, LAPTOP).expect(201);
    const [device] = (await warden.request.get(`/api/v1/api-keys/${theirs.id}/devices`).set('X-API-Key', org.key).expect(200)).body.devices;
    await warden.request.delete(`/api/v1/api-keys/${theirs.id}/devices/${device.id}`).set('X-API-Key', mine.key).expect(403);

    const notFound = await bind(theirs.id, other.key, LAPTOP).expect(404);
    assert.equal(notFound.body.code, 'API_KEY_NOT_FOUND');
    await warden.request.get(`/api/v1/api-keys/${theirs.id}/devices`).set('X-API-Key', other.key).expect(404);
    await warden.request.delete(`/api/v1/api-keys/${theirs.id}/devices/${device.id}`).set('X-API-Key', other.key).expect(404);
    const wrongKey = await warden.request.delete(`/api/v1/api-keys/${mine.id}/devices/${device.id}`).set('X-API-Key', org.key).expect(404);
    assert.equal(wrongKey.body.code, 'API_KEY_DEVICE_NOT_FOUND');

    const invalid = await bind(mine.id, mine.key, 'abc').expect(422);
    assert.equal(invalid.body.code, 'VALIDATION_FAILED');
    await warden.request.get('/api/v1/api-keys/nope/devices').set('X-API-Key', org.key).expect(400);
    await warden.request.delete(`/api/v1/api-keys/${mine.id}/devices/nope`).set('X-API-Key', org.key).expect(400);
    await warden.request
      .post('/api/v1/api-keys/nope/devices')
      .set('X-API-Key', org.key)
      .send({ fingerprint: LAPTOP, name: 'x', os: 'y' })
      .expect(400);
    await warden.request.get(`/api/v1/api-keys/${mine.id}/devices`).expect(401);
    await warden.request.delete(`/api/v1/api-keys/${mine.id}/devices/${device.id}`).expect(401);
    await warden.request.post(`/api/v1/api-keys/${mine.id}/devices`).send({ fingerprint: LAPTOP, name: 'x', os: 'y' }).expect(401);
  });

  it('removing a device (audited, before-image) refuses it; removing the last one frees the key', async () => {
    const { id, key } = await readOnlyKey();
    const laptop = (await bind(id, key, LAPTOP).expect(201)).body;
    const desktop = (await bind(id, key, DESKTOP, DESKTOP).expect(201)).body;
    const res = await warden.request
      .delete(`/api/v1/api-keys/${id}/devices/${laptop.id}`)
      .set('X-API-Key', key)
      .set('X-Warden-Device', DESKTOP)
      .expect(204);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'api_key.device_unbound');
    assert.equal((event.details.before as { fingerprint: string }).fingerprint, LAPTOP);
    assert.equal((await workspaces(key, LAPTOP).expect(401)).body.code, 'DEVICE_NOT_BOUND');
    await warden.request.delete(`/api/v1/api-keys/${id}/devices/${desktop.id}`).set('X-API-Key', org.key).expect(204);
    await workspaces(key).expect(200);
  });

  it('a key holds at most 10 devices: of 12 concurrent binds exactly 10 succeed, the rest are 409', async () => {
    const { id } = await readOnlyKey();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => bind(id, org.key, fingerprintOf(`machine ${i}`)).then((res) => res.status)),
    );
    assert.deepEqual(results.filter((status) => status === 201).length, 10);
    assert.deepEqual(
      results.filter((status) => status !== 201),
      [409, 409],
    );
    const res = await bind(id, org.key, STRANGER).expect(409);
    assert.equal(res.body.code, 'API_KEY_DEVICE_LIMIT_REACHED');
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM api_key_devices WHERE api_key_id = $1`, [id]);
    assert.equal(n, 10);
  });
});
