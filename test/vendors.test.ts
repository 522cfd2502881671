import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyVendorCredential } from '../src/modules/vendors';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/** Public addresses written as IP literals: the suite runs without DNS. */
const BASE_URL = 'https://1.1.1.1/v1';

describe('vendors: create, read, change, rotate, delete; credentials encrypted and never shown (seed 001)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  const handled: string[] = [];
  const apiKey = () => {
    const secret = `sk-proj-${randomBytes(18).toString('base64url')}`;
    handled.push(secret);
    return secret;
  };
  const create = (body: Record<string, unknown>, credential: Record<string, string> = key) =>
    warden.request.post('/api/v1/vendors').set(credential).send(body);

  before(async () => {
    warden = await startTestApp({ config: { encryptionKey: randomBytes(32) } });
    org = await createOrg(warden, 'enterprise', 'Vendor org');
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /vendors takes the seed body as written; the answer and the audit event carry no credential', async () => {
    const secret = apiKey();
    const body = { org_id: org.id, name: 'Search API', base_url: BASE_URL, api_key: secret, auth_type: 'header', header_name: 'X-Api-Key' };
    const res = await create(body).expect(201);
    assert.match(res.body.id, /^vnd_[0-9a-z]{26}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, created_at: undefined, updated_at: undefined },
      {
        id: undefined,
        org_id: org.id,
        name: 'Search API',
        base_url: BASE_URL,
        auth_type: 'header',
        header_name: 'X-Api-Key',
        cost_header: null,
        api_key_last_four: secret.slice(-4),
        credential_rotated_at: null,
        created_at: undefined,
        updated_at: undefined,
      },
    );
    assert.ok(!JSON.stringify(res.body).includes(secret));
    const event = await theAuditEventOf(warden, res, [secret]);
    assert.equal(event.action, 'vendor.created');
    assert.equal(event.resource_id, res.body.id);
    assert.equal((event.details.after as { name: string }).name, 'Search API');

    // At rest: a versioned ciphertext under the org's data key, not the credential.
    const [row] = await warden.database.dataSource.query(`SELECT api_key_ciphertext FROM vendors WHERE id = $1`, [res.body.id]);
    assert.match(row.api_key_ciphertext, /^v1:dek_[0-9a-z]+:[A-Za-z0-9_-]+$/);
    assert.ok(!row.api_key_ciphertext.includes(secret));
    const [dataKey] = await warden.database.dataSource.query(`SELECT kek_id, length(wrapped) AS n FROM data_keys WHERE org_id = $1`, [
      org.id,
    ]);
    assert.match(dataKey.kek_id, /^local:[0-9a-f]{16}$/);
    assert.equal(dataKey.n, 12 + 16 + 32);

    // The gateway's face opens it and places it as configured.
    const upstream = await warden.services.vendors.upstreamFor(org.id, res.body.id);
    assert.deepEqual(upstream, {
      id: res.body.id,
      orgId: org.id,
      baseUrl: BASE_URL,
      authType: 'header',
      headerName: 'X-Api-Key',
      apiKey: secret,
      costHeader: null,
    });
    const headers: Record<string, string> = { Authorization: 'Bearer sgk_the_agents_own', 'x-api-key': 'agent-supplied' };
    applyVendorCredential(upstream!, new URL(`${BASE_URL}/search`), headers);
    assert.deepEqual(headers, { 'x-api-key': secret });
    assert.equal(await warden.services.vendors.upstreamFor(other.id, res.body.id), null, "another org's vendor is not found");
  });

  it('places each auth type: bearer, query (default api_key), basic (user:password)', async () => {
    const bearerKey = apiKey();
    const bearer = await create({ name: 'OpenAI', base_url: `${BASE_URL}/`, api_key: bearerKey, cost_header: 'X-Cost-Usd' }).expect(201);
    assert.equal(bearer.body.auth_type, 'bearer');
    assert.equal(bearer.body.base_url, BASE_URL, 'stored without the trailing slash');
    assert.equal(bearer.body.cost_header, 'X-Cost-Usd');
    const queryKey = apiKey();
    const query = await create({ name: 'Maps', base_url: 'https://8.8.8.8', api_key: queryKey, auth_type: 'query' }).expect(201);
    assert.equal(query.body.header_name, 'api_key');
    const basicKey = `user:${apiKey()}`;
    const basic = await create({ name: 'Legacy', base_url: 'https://9.9.9.9/api', api_key: basicKey, auth_type: 'basic' }).expect(201);

    const place = async (id: string) => {
      const url = new URL('https://1.1.1.1/v1/x?api_key=agent&q=1');
      const headers: Record<string, string> = { authorization: 'Bearer sgk_agent' };
      applyVendorCredential((await warden.services.vendors.upstreamFor(org.id, id))!, url, headers);
      return { url: url.href, headers };
    };
    assert.deepEqual(await place(bearer.body.id), {
      url: 'https://1.1.1.1/v1/x?api_key=agent&q=1',
      headers: { authorization: `Bearer ${bearerKey}` },
    });
    assert.deepEqual(await place(query.body.id), {
      url: `https://1.1.1.1/v1/x?api_key=${encodeURIComponent(queryKey)}&q=1`,
      headers: {},
    });
    assert.deepEqual(await place(basic.body.id), {
      url: 'https://1.1.1.1/v1/x?api_key=agent&q=1',
      headers: { authorization: `Basic ${Buffer.from(basicKey).toString('base64')}` },
    });
    // A short credential shows no last four.
    const short = await create({ name: 'Short', base_url: BASE_URL, api_key: 'abc123' }).expect(201);
    assert.equal(short.body.api_key_last_four, null);
  });

  it('refuses base URLs the outbound policy forbids (SSRF) with 422 VENDOR_URL_REFUSED and the reason', async () => {
    const refused: Array<[string, RegExp]> = [
      ['http://127.0.0.1:8080', /https/],
      ['https://127.0.0.1/v1', /loopback/],
      ['https://169.254.169.254/latest/meta-data', /link-local|metadata/],
      ['https://10.0.0.7', /private/],
      ['https://[::1]/', /loopback/],
      ['https://user:pass@1.1.1.1/v1', /user name or password/],
      ['https://1.1.1.1/v1?key=1', /query/],
      ['https://1.1.1.1/v1#frag', /fragment/],
      ['ftp://1.1.1.1/', /https/],
      ['not a url', /valid absolute URL/],
      ['https://vendor.invalid/v1', /does not resolve/],
    ];
    for (const [baseUrl, reason] of refused) {
      const res = await create({ name: 'Evil', base_url: baseUrl, api_key: 'x'.repeat(20) }).expect(422);
      assert.equal(res.body.code, 'VENDOR_URL_REFUSED', baseUrl);
      assert.match(res.body.message, reason, baseUrl);
      assert.equal(res.body.details[0].field, 'base_url');
    }
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM vendors WHERE name = 'Evil'`);
    assert.equal(n, 0);
  });

  it('refuses auth settings that do not fit: 422 VENDOR_AUTH_INVALID; a taken name is 409', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ auth_type: 'header' }, 'header_name'],
      [{ auth_type: 'header', header_name: 'Host' }, 'header_name'],
      [{ auth_type: 'header', header_name: 'Transfer-Encoding' }, 'header_name'],
      [{ auth_type: 'header', header_name: 'X-Warden-Action' }, 'header_name'],
      [{ auth_type: 'header', header_name: 'Bad Name' }, 'header_name'],
      [{ auth_type: 'query', header_name: 'a&b=c' }, 'header_name'],
      [{ auth_type: 'bearer', header_name: 'X-Key' }, 'header_name'],
      [{ auth_type: 'basic', api_key: 'no-colon-here' }, 'api_key'],
      [{ api_key: 'line\r\nX-Injected: 1' }, 'api_key'],
      [{ cost_header: 'Connection' }, 'cost_header'],
    ];
    for (const [fields, field] of bad) {
      const res = await create({ name: 'Bad', base_url: BASE_URL, api_key: 'k'.repeat(20), ...fields }).expect(422);
      assert.equal(res.body.code, 'VENDOR_AUTH_INVALID', JSON.stringify(fields));
      assert.equal(res.body.details[0].field, field);
      assert.ok(!res.body.message.includes('k'.repeat(20)));
    }
    const unknownField = await create({ name: 'Bad', base_url: BASE_URL, api_key: 'k', colour: 'red' }).expect(422);
    assert.equal(unknownField.body.code, 'VALIDATION_FAILED');
    await create({ name: 'Twin', base_url: BASE_URL, api_key: apiKey() }).expect(201);
    const twin = await create({ name: 'twin', base_url: BASE_URL, api_key: apiKey() }).expect(409);
    assert.equal(twin.body.code, 'VENDOR_NAME_TAKEN');
  });

  it('GET /vendors pages newest first; GET /vendors/{id} reads one', async () => {
    const all = await warden.request.get('/api/v1/vendors').set(key).expect(200);
    assert.ok(all.body.vendors.length >= 5);
    const ids = all.body.vendors.map((vendor: { id: string }) => vendor.id);
    assert.deepEqual(ids, [...ids].sort().reverse());
    for (const vendor of all.body.vendors) assert.ok(!('api_key' in vendor) && !('api_key_ciphertext' in vendor));
    const first = await warden.request.get('/api/v1/vendors?limit=2').set(key).expect(200);
    assert.equal(first.body.has_more, true);
    const second = await warden.request.get(`/api/v1/vendors?limit=2&cursor=${first.body.next_cursor}`).set(key).expect(200);
    assert.deepEqual(
      [...first.body.vendors, ...second.body.vendors].map((vendor: { id: string }) => vendor.id),
      ids.slice(0, 4),
    );
    const one = await warden.request.get(`/api/v1/vendors/${ids[0]}`).set(key).expect(200);
    assert.deepEqual(one.body, all.body.vendors[0]);
    const missing = await warden.request.get('/api/v1/vendors/vnd_0000000000000000000000000a').set(key).expect(404);
    assert.equal(missing.body.code, 'VENDOR_NOT_FOUND');
  });

  it('PATCH /vendors/{id} changes what it names, checks a new base_url, and audits before and after', async () => {
    const secret = apiKey();
    const made = await create({ name: 'Patchable', base_url: BASE_URL, api_key: secret, auth_type: 'header', header_name: 'X-Key' }).expect(
      201,
    );
    const url = `/api/v1/vendors/${made.body.id}`;
    const refused = await warden.request.patch(url).set(key).send({ base_url: 'https://192.168.1.1' }).expect(422);
    assert.equal(refused.body.code, 'VENDOR_URL_REFUSED');
    // Switching to bearer drops the header name nobody restated; switching to header needs one.
    const needsHeader = await warden.request.patch(url).set(key).send({ auth_type: 'query' }).expect(200);
    assert.equal(needsHeader.body.header_name, 'api_key');
    const res = await warden.request
      .patch(url)
      .set(key)
      .send({ auth_type: 'bearer', name: 'Patched', cost_header: 'X-Cost-Usd' })
      .expect(200);
    assert.equal(res.body.name, 'Patched');
    assert.equal(res.body.auth_type, 'bearer');
    assert.equal(res.body.header_name, null);
    assert.equal(res.body.api_key_last_four, secret.slice(-4));
    const event = await theAuditEventOf(warden, res, [secret]);
    assert.equal(event.action, 'vendor.updated');
    assert.deepEqual(
      [(event.details.before as { name: string }).name, (event.details.after as { name: string }).name],
      ['Patchable', 'Patched'],
    );
    const toHeader = await warden.request.patch(url).set(key).send({ auth_type: 'header' }).expect(422);
    assert.equal(toHeader.body.code, 'VENDOR_AUTH_INVALID');
    await create({ name: 'Taken name', base_url: BASE_URL, api_key: apiKey() }).expect(201);
    assert.equal((await warden.request.patch(url).set(key).send({ name: 'TAKEN NAME' }).expect(409)).body.code, 'VENDOR_NAME_TAKEN');
    const toBasic = await warden.request.patch(url).set(key).send({ auth_type: 'basic' }).expect(422);
    assert.match(toBasic.body.message, /user:password/);
    assert.equal((await warden.services.vendors.upstreamFor(org.id, made.body.id))!.apiKey, secret, 'the credential is untouched');
  });

  it('POST /vendors/{id}/rotate-credential replaces the credential; the old one is gone from the database', async () => {
    const oldKey = apiKey();
    const made = await create({ name: 'Rotating', base_url: BASE_URL, api_key: oldKey }).expect(201);
    const [before] = await warden.database.dataSource.query(`SELECT api_key_ciphertext FROM vendors WHERE id = $1`, [made.body.id]);
    const newKey = apiKey();
    const res = await warden.request
      .post(`/api/v1/vendors/${made.body.id}/rotate-credential`)
      .set(key)
      .send({ api_key: newKey })
      .expect(200);
    assert.equal(res.body.api_key_last_four, newKey.slice(-4));
    assert.ok(res.body.credential_rotated_at);
    const event = await theAuditEventOf(warden, res, [oldKey, newKey]);
    assert.equal(event.action, 'vendor.credential_rotated');
    assert.equal((event.details.before as { api_key_last_four: string }).api_key_last_four, oldKey.slice(-4));
    assert.equal((await warden.services.vendors.upstreamFor(org.id, made.body.id))!.apiKey, newKey);
    const [after] = await warden.database.dataSource.query(`SELECT api_key_ciphertext FROM vendors WHERE id = $1`, [made.body.id]);
    assert.notEqual(after.api_key_ciphertext, before.api_key_ciphertext);
  });

  it("an org's first credentials, stored concurrently, share one data key and all open", async () => {
    const fresh = await createOrg(warden, 'enterprise', 'Fresh org');
    const secrets = Array.from({ length: 8 }, apiKey);
    const made = await Promise.all(
      secrets.map((secret, i) =>
        create({ name: `Concurrent ${i}`, base_url: BASE_URL, api_key: secret }, { 'X-API-Key': fresh.key }).expect(201),
      ),
    );
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM data_keys WHERE org_id = $1`, [fresh.id]);
    assert.equal(n, 1);
    for (const [i, res] of made.entries()) {
      assert.equal((await warden.services.vendors.upstreamFor(fresh.id, res.body.id))!.apiKey, secrets[i]);
    }
  });

  it('a ciphertext copied to another row does not open there (its AAD names the row)', async () => {
    const a = await create({ name: 'Copy source', base_url: BASE_URL, api_key: apiKey() }).expect(201);
    const b = await create({ name: 'Copy target', base_url: BASE_URL, api_key: apiKey() }).expect(201);
    await warden.database.dataSource.query(
      `UPDATE vendors SET api_key_ciphertext = (SELECT api_key_ciphertext FROM vendors WHERE id = $1) WHERE id = $2`,
      [a.body.id, b.body.id],
    );
    await assert.rejects(warden.services.vendors.upstreamFor(org.id, b.body.id), /does not open/);
  });

  it('DELETE /vendors/{id} erases the credential; the vendor is gone for every reader', async () => {
    const made = await create({ name: 'Doomed', base_url: BASE_URL, api_key: apiKey() }).expect(201);
    const res = await warden.request.delete(`/api/v1/vendors/${made.body.id}`).set(key).expect(204);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'vendor.deleted');
    assert.equal((event.details.before as { name: string }).name, 'Doomed');
    await warden.request.get(`/api/v1/vendors/${made.body.id}`).set(key).expect(404);
    await warden.request.delete(`/api/v1/vendors/${made.body.id}`).set(key).expect(404);
    await warden.request.post(`/api/v1/vendors/${made.body.id}/rotate-credential`).set(key).send({ api_key: 'x' }).expect(404);
    const list = await warden.request.get('/api/v1/vendors?limit=200').set(key).expect(200);
    assert.ok(!list.body.vendors.some((vendor: { id: string }) => vendor.id === made.body.id));
    assert.equal(await warden.services.vendors.upstreamFor(org.id, made.body.id), null);
    const [row] = await warden.database.dataSource.query(`SELECT api_key_ciphertext, deleted_at FROM vendors WHERE id = $1`, [
      made.body.id,
    ]);
    assert.equal(row.api_key_ciphertext, null);
    assert.ok(row.deleted_at);
  });

  it("keeps tenants apart: another org's credential sees 404 for every operation on the vendor", async () => {
    const made = await create({ name: 'Private', base_url: BASE_URL, api_key: apiKey() }).expect(201);
    const theirs = { 'X-API-Key': other.key };
    const url = `/api/v1/vendors/${made.body.id}`;
    assert.equal((await warden.request.get(url).set(theirs).expect(404)).body.code, 'VENDOR_NOT_FOUND');
    await warden.request.patch(url).set(theirs).send({ name: 'Mine now' }).expect(404);
    await warden.request.post(`${url}/rotate-credential`).set(theirs).send({ api_key: 'attacker-key-123456' }).expect(404);
    await warden.request.delete(url).set(theirs).expect(404);
    const list = await warden.request.get('/api/v1/vendors').set(theirs).expect(200);
    assert.deepEqual(list.body.vendors, []);
    const intoOtherOrg = await create({ org_id: org.id, name: 'Planted', base_url: BASE_URL, api_key: 'k'.repeat(20) }, theirs).expect(404);
    assert.equal(intoOtherOrg.body.code, 'ORG_NOT_FOUND');
    assert.equal((await warden.request.get(url).set(key).expect(200)).body.name, 'Private');
  });

  it('answers every operation 401 without a credential, 400 for a malformed id, 403 to a viewer on every change', async () => {
    const made = await create({ name: 'Guarded', base_url: BASE_URL, api_key: apiKey() }).expect(201);
    const viewer = await createUserAndLogin(warden, org, 'viewer2@vendors.test', 'viewer');
    const asViewer = { Authorization: `Bearer ${viewer.token}` };
    const url = `/api/v1/vendors/${made.body.id}`;
    const operations: Array<['get' | 'patch' | 'delete' | 'post', string, object | undefined]> = [
      ['get', url, undefined],
      ['patch', url, { name: 'x' }],
      ['delete', url, undefined],
      ['post', `${url}/rotate-credential`, { api_key: 'new-key-value-123456' }],
    ];
    for (const [method, path, body] of operations) {
      assert.equal((await warden.request[method](path).send(body)).status, 401, `${method} ${path}`);
      const badId = await warden.request[method](`/api/v1/vendors/vnd_!!${path.slice(url.length)}`)
        .set(key)
        .send(body);
      assert.equal(badId.status, 400, `${method} with a malformed id`);
      if (method !== 'get') assert.equal((await warden.request[method](path).set(asViewer).send(body)).status, 403, `${method} ${path}`);
    }
    await warden.request.get('/api/v1/vendors?limit=0').set(key).expect(400);
    const injected = await warden.request.post(`${url}/rotate-credential`).set(key).send({ api_key: 'clé-secrète-123456' }).expect(422);
    assert.equal(injected.body.code, 'VENDOR_AUTH_INVALID');
    assert.equal((await warden.request.get(url).set(key).expect(200)).body.name, 'Guarded');
  });

  it('needs vendor.edit to change and vendor.read to read: a viewer reads, cannot create', async () => {
    const viewer = await createUserAndLogin(warden, org, 'viewer@vendors.test', 'viewer');
    const bearer = { Authorization: `Bearer ${viewer.token}` };
    const res = await create({ name: 'Sneaky', base_url: BASE_URL, api_key: 'k'.repeat(20) }, bearer).expect(403);
    assert.equal(res.body.code, 'PERMISSION_DENIED');
    assert.match(res.body.message, /vendor\.edit/);
    await warden.request.get('/api/v1/vendors').set(bearer).expect(200);
    await warden.request.get('/api/v1/vendors').expect(401);
  });
});

describe('vendors without a key-encryption key', () => {
  it('on a real Postgres: warns at start-up, answers 503 ENCRYPTION_KEY_MISSING to store a credential, still reads', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warden-kek-'));
    const warden = await startTestApp({ config: { encryptionKey: undefined, dataDir } });
    try {
      const org = await createOrg(warden);
      const key = { 'X-API-Key': org.key };
      const body = { name: 'Vendor', base_url: BASE_URL, api_key: 'sk-not-stored-anywhere-1234' };
      if (!warden.database.embedded) {
        assert.ok(warden.logs.some((line) => line.level === 'warn' && /WARDEN_ENCRYPTION_KEY is not set.*503/.test(String(line.msg))));
        const res = await warden.request.post('/api/v1/vendors').set(key).send(body).expect(503);
        assert.equal(res.body.code, 'ENCRYPTION_KEY_MISSING');
        assert.match(res.body.message, /WARDEN_ENCRYPTION_KEY/);
        assert.deepEqual((await warden.request.get('/api/v1/vendors').set(key).expect(200)).body.vendors, []);
        // A vendor stored while a key was configured: readable without one, but its credential cannot be replaced.
        const id = 'vnd_0000000000000000000000000k';
        await warden.database.dataSource.query(
          `INSERT INTO data_keys (id, org_id, kek_id, wrapped) VALUES ('dek_x', $1, 'local:0000000000000000', '\\x00')`,
          [org.id],
        );
        await warden.database.dataSource.query(
          `INSERT INTO vendors (id, org_id, name, base_url, auth_type, api_key_ciphertext) VALUES ($1, $2, 'Old', $3, 'bearer', 'v1:dek_x:AA')`,
          [id, org.id, BASE_URL],
        );
        assert.equal((await warden.request.get(`/api/v1/vendors/${id}`).set(key).expect(200)).body.name, 'Old');
        const rotate = await warden.request
          .post(`/api/v1/vendors/${id}/rotate-credential`)
          .set(key)
          .send({ api_key: body.api_key })
          .expect(503);
        assert.equal(rotate.body.code, 'ENCRYPTION_KEY_MISSING');
        await assert.rejects(warden.services.vendors.upstreamFor(org.id, id), { code: 'ENCRYPTION_KEY_MISSING' });
        await assertNoSecretAtRest(warden, [body.api_key]);
      } else {
        // On the embedded database a key is generated into the data directory, readable by Warden's user only.
        await warden.request.post('/api/v1/vendors').set(key).send(body).expect(201);
        const file = join(dataDir, 'encryption.key');
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length, 32);
      }
    } finally {
      await warden.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
