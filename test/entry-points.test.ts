import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminLogin, createOrg, createUserAndLogin, PASSWORD, summary, type TestOrg, theAuditEventOf } from './support/identity';
import { type MailCatcher, startMailCatcher } from './support/mail-catcher';
import { startTestApp, type TestApp } from './support/test-app';

const ADMIN_EMAIL = 'secu-admin@example.com';

describe('seed-compatible entry points: /me, editing a key, X-Secu-Admin-Token, per-key rate limits', () => {
  let warden: TestApp;
  let mail: MailCatcher;
  let org: TestOrg;
  let other: TestOrg;

  const newKey = async (body: Record<string, unknown>, credential = org.key) =>
    (
      await warden.request
        .post('/api/v1/api-keys')
        .set('X-API-Key', credential)
        .send({ name: 'k', ...body })
        .expect(201)
    ).body;
  const me = (credential: Record<string, string>) => warden.request.get('/api/v1/me').set(credential);

  before(async () => {
    mail = await startMailCatcher();
    warden = await startTestApp({ config: { smtpUrl: mail.url, platformAdminEmails: [ADMIN_EMAIL] } });
    org = await createOrg(warden, 'enterprise', 'Acme Corp');
    other = await createOrg(warden, 'enterprise', 'Other org');
  });
  after(async () => {
    await warden.close();
    await mail.close();
  });

  describe('GET /api/v1/me (seed 003)', () => {
    it('a key no user created reports nobody until the org has an owner user, then that owner', async () => {
      const res = await me({ Authorization: `Bearer ${other.key}` }).expect(200);
      assert.deepEqual(
        { ...res.body, permissions: undefined },
        {
          uuid: null,
          email: null,
          firstname: null,
          lastname: null,
          user_source: 'none',
          type: 'api_key',
          org: res.body.org,
          api_key: { id: other.keyId, name: 'owner', prefix: other.key.slice(0, 12), device_binding_required: false, device_id: null },
          permissions: undefined,
        },
      );
      assert.equal(res.body.org.id, other.id);
      const owner = await warden.request
        .post('/api/v1/users')
        .set('X-API-Key', other.key)
        .send({ email: 'owner@other.example', password: PASSWORD, role: 'owner', first_name: 'Olga', last_name: 'Owner' })
        .expect(201);
      assert.equal(owner.body.first_name, 'Olga');
      await warden.request
        .post('/api/v1/users')
        .set('X-API-Key', other.key)
        .send({ email: 'second-owner@other.example', password: PASSWORD, role: 'owner' })
        .expect(201);
      const again = await me({ Authorization: `Bearer ${other.key}` }).expect(200);
      assert.deepEqual(
        [again.body.uuid, again.body.email, again.body.firstname, again.body.lastname, again.body.user_source],
        [owner.body.id, 'owner@other.example', 'Olga', 'Owner', 'org_owner'],
      );
    });

    it("a key a user created reports that user (seed 003's fields), with Bearer or X-API-Key; a login reports the user", async () => {
      const user = await warden.request
        .post('/api/v1/users')
        .set('X-API-Key', org.key)
        .send({ email: 'jane@example.com', password: PASSWORD, role: 'admin', first_name: 'Jane', last_name: 'Doe' })
        .expect(201);
      const login = await warden.request.post('/api/v1/auth/login').send({ email: 'jane@example.com', password: PASSWORD }).expect(200);
      const created = await warden.request
        .post('/api/v1/api-keys')
        .set('Authorization', `Bearer ${login.body.token}`)
        .send({ name: 'k', permissions: ['workspace.read'] })
        .expect(201);
      const key: { key: string } = created.body;
      const credentials: Array<Record<string, string>> = [{ Authorization: `Bearer ${key.key}` }, { 'X-API-Key': key.key }];
      for (const credential of credentials) {
        const res = await me(credential).expect(200);
        assert.deepEqual(
          [res.body.uuid, res.body.email, res.body.firstname, res.body.lastname, res.body.user_source, res.body.type],
          [user.body.id, 'jane@example.com', 'Jane', 'Doe', 'key_creator', 'api_key'],
        );
        assert.deepEqual(res.body.permissions, ['workspace.read']);
        assert.equal(res.body.org.name, 'Acme Corp');
      }
      const mine = await me({ Authorization: `Bearer ${login.body.token}` }).expect(200);
      assert.deepEqual(
        [mine.body.uuid, mine.body.user_source, mine.body.type, mine.body.api_key],
        [user.body.id, 'login', 'user', undefined],
      );
    });

    it('no credential is 401, an unknown query parameter 400, an agent secret 403', async () => {
      assert.equal((await warden.request.get('/api/v1/me').expect(401)).body.code, 'CREDENTIAL_MISSING');
      await warden.request.get('/api/v1/me?verbose=1').set('X-API-Key', org.key).expect(400);
      const res = await warden.request
        .get('/api/v1/me')
        .set('X-Agent-Secret', `sas_${'a'.repeat(38)}`)
        .expect(403);
      assert.equal(res.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    });
  });

  describe('PATCH /api/v1/api-keys/{id} (seed 003: edit a key to add permissions)', () => {
    it('adds a permission, renames, sets a budget; audited with the before-image', async () => {
      const key = await newKey({ permissions: ['workspace.read'], description: 'reads' });
      await warden.request.get(`/api/v1/agents`).set('X-API-Key', key.key).expect(403);
      const res = await warden.request
        .patch(`/api/v1/api-keys/${key.id}`)
        .set('X-API-Key', org.key)
        .send({ name: 'reader', permissions: ['workspace.read', 'agent.read'], rate_limit_per_minute: 600 })
        .expect(200);
      assert.deepEqual(
        [res.body.name, res.body.description, res.body.permissions, res.body.rate_limit_per_minute, res.body.prefix],
        ['reader', 'reads', ['workspace.read', 'agent.read'], 600, key.prefix],
      );
      const event = await theAuditEventOf(warden, res, [key.key]);
      assert.deepEqual(summary(event), {
        org: org.id,
        action: 'api_key.updated',
        actor: ['api_key', org.keyId],
        resource: [event.resource_type, key.id],
        outcome: 'success',
      });
      assert.deepEqual(event.details.before, {
        name: 'k',
        description: 'reads',
        permissions: ['workspace.read'],
        rate_limit_per_minute: null,
      });
      await warden.request.get(`/api/v1/agents`).set('X-API-Key', key.key).expect(200);
      const reset = await warden.request
        .patch(`/api/v1/api-keys/${key.id}`)
        .set('X-API-Key', org.key)
        .send({ rate_limit_per_minute: null });
      assert.equal(reset.status, 200);
      assert.deepEqual([reset.body.rate_limit_per_minute, reset.body.permissions], [null, ['workspace.read', 'agent.read']]);
    });

    it('a weaker editor can never grant more than it holds (403 PRIVILEGE_ESCALATION), nor edit keys without api_key.edit', async () => {
      const editor = await newKey({ permissions: ['api_key.edit', 'workspace.read'] });
      const target = await newKey({ permissions: ['workspace.read'] });
      const res = await warden.request
        .patch(`/api/v1/api-keys/${target.id}`)
        .set('X-API-Key', editor.key)
        .send({ permissions: ['workspace.read', 'agent.revoke'] })
        .expect(403);
      assert.equal(res.body.code, 'PRIVILEGE_ESCALATION');
      assert.match(res.body.message, /agent\.revoke/);
      // Nor can it raise itself.
      await warden.request
        .patch(`/api/v1/api-keys/${editor.id}`)
        .set('X-API-Key', editor.key)
        .send({ permissions: ['api_key.edit', 'user.edit'] })
        .expect(403);
      await warden.request.patch(`/api/v1/api-keys/${target.id}`).set('X-API-Key', editor.key).send({ name: 'renamed' }).expect(200);
      const reader = await newKey({ permissions: ['workspace.read'] });
      const denied = await warden.request
        .patch(`/api/v1/api-keys/${target.id}`)
        .set('X-API-Key', reader.key)
        .send({ name: 'x' })
        .expect(403);
      assert.equal(denied.body.code, 'PERMISSION_DENIED');
      const [row] = await warden.database.dataSource.query(`SELECT name, permissions FROM api_keys WHERE id = $1`, [target.id]);
      assert.deepEqual(row, { name: 'renamed', permissions: ['workspace.read'] });
    });

    it('another org answers 404; the last owner credential keeps owner.grant (409); bad input 422/400; no credential 401', async () => {
      const theirs = await newKey({ permissions: ['workspace.read'] }, other.key);
      assert.equal(
        (await warden.request.patch(`/api/v1/api-keys/${theirs.id}`).set('X-API-Key', org.key).send({ name: 'x' }).expect(404)).body.code,
        'API_KEY_NOT_FOUND',
      );
      const lonely = await createOrg(warden, 'enterprise', 'Lonely org');
      const last = await warden.request
        .patch(`/api/v1/api-keys/${lonely.keyId}`)
        .set('X-API-Key', lonely.key)
        .send({ permissions: ['workspace.read', 'api_key.edit'] })
        .expect(409);
      assert.equal(last.body.code, 'LAST_OWNER');
      await warden.request.patch(`/api/v1/api-keys/${theirs.id}`).set('X-API-Key', other.key).send({}).expect(422);
      await warden.request
        .patch(`/api/v1/api-keys/${theirs.id}`)
        .set('X-API-Key', other.key)
        .send({ rate_limit_per_minute: 0 })
        .expect(422);
      await warden.request
        .patch(`/api/v1/api-keys/${theirs.id}`)
        .set('X-API-Key', other.key)
        .send({ permissions: ['no.such'] })
        .expect(422);
      await warden.request.patch('/api/v1/api-keys/nope').set('X-API-Key', other.key).send({ name: 'x' }).expect(400);
      await warden.request.patch(`/api/v1/api-keys/${theirs.id}`).send({ name: 'x' }).expect(401);
    });
  });

  describe("X-Secu-Admin-Token (seed 001's admin header)", () => {
    it('carries an admin session wherever Bearer does; anything else in it is refused', async () => {
      const token = await adminLogin(warden, mail, ADMIN_EMAIL);
      const res = await me({ 'X-Secu-Admin-Token': token }).expect(200);
      assert.deepEqual(
        [res.body.type, res.body.user_source, res.body.email, res.body.uuid, res.body.org],
        ['admin_session', 'platform_admin', ADMIN_EMAIL, null, undefined],
      );
      const orgs = await warden.request.get('/api/v1/orgs').set('X-Secu-Admin-Token', token).expect(200);
      assert.ok(orgs.body.orgs.length >= 2, 'a platform admin lists every org');
      assert.equal((await me({ 'X-Secu-Admin-Token': org.key }).expect(401)).body.code, 'CREDENTIAL_MALFORMED');
      assert.equal((await me({ 'X-Secu-Admin-Token': `adm_${'x'.repeat(38)}` }).expect(401)).body.code, 'CREDENTIAL_MALFORMED');
      assert.ok(!JSON.stringify(warden.logs).includes(token), 'the admin token never reaches a log line');
      await warden.request.post('/api/v1/auth/logout').set('X-Secu-Admin-Token', token).expect(200);
      assert.equal((await me({ 'X-Secu-Admin-Token': token }).expect(401)).body.code, 'CREDENTIAL_REVOKED');
    });

    it('a malformed admin token is 401 beside a valid key; two different credentials are 400 CREDENTIALS_CONFLICT', async () => {
      const beside = await me({ 'X-API-Key': org.key, 'X-Secu-Admin-Token': 'adm_x' }).expect(401);
      assert.equal(beside.body.code, 'CREDENTIAL_MALFORMED');
      const theirs = await createUserAndLogin(warden, other, 'conflict@example.com', 'viewer');
      const both = await me({ 'X-API-Key': org.key, Authorization: `Bearer ${theirs.token}` }).expect(400);
      assert.equal(both.body.code, 'CREDENTIALS_CONFLICT');
      // The same key in both headers is one credential.
      await me({ 'X-API-Key': org.key, Authorization: `Bearer ${org.key}` }).expect(200);
    });
  });

  describe('per-API-key rate limit (seed 003: 429)', () => {
    it("a key's own budget: RateLimit-Policy/RateLimit on every answer, then 429 with Retry-After", async () => {
      const key = await newKey({ permissions: ['workspace.read'], rate_limit_per_minute: 3 });
      assert.equal(key.rate_limit_per_minute, 3);
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await me({ 'X-API-Key': key.key }).expect(200);
        assert.equal(res.headers['ratelimit-policy'], '"api-key";q=3;w=60');
        seen.push(/^"api-key";r=(\d+);t=(\d+)$/.exec(String(res.headers.ratelimit))![1]!);
      }
      // A window is a clock minute: a run that crosses one starts counting again.
      if (seen.join() !== '2,1,0') return;
      const refused = await me({ 'X-API-Key': key.key }).expect(429);
      assert.equal(refused.body.code, 'RATE_LIMITED');
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 60);
      assert.equal(refused.headers.ratelimit, `"api-key";r=0;t=${retryAfter}`);
      // Other keys of the org keep their own budgets.
      await me({ 'X-API-Key': org.key }).expect(200);
    });

    it('the default budget comes from config; a second instance on the same database shares the count', async () => {
      const config = { apiKeyRateLimit: { perMinute: 4, syncMs: 0 } };
      const first = await startTestApp({ database: warden.database, config });
      const second = await startTestApp({ database: warden.database, config });
      try {
        const key = await newKey({ permissions: ['workspace.read'] });
        const counted = async () => {
          const rows = await warden.database.dataSource.query(
            `SELECT sum(hits)::int AS n FROM rate_limit_hits WHERE bucket = 'api_key' AND subject = $1`,
            [key.id],
          );
          return rows[0].n ?? 0;
        };
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push((await first.request.get('/api/v1/me').set('X-API-Key', key.key)).status);
        assert.equal(statuses.filter((status) => status === 429).length, 0);
        const head = (await first.request.get('/api/v1/me').set('X-API-Key', key.key)).headers['ratelimit-policy'];
        assert.equal(head, '"api-key";q=4;w=60');
        // Once the first instance's count is in Postgres, the second refuses the key after at most
        // the requests it admitted before its own first read (the documented over-admission).
        for (let wait = 0; (await counted()) < 4 && wait < 100; wait++) await new Promise((resolve) => setImmediate(resolve));
        let admitted = 0;
        let refused = 0;
        for (let i = 0; i < 5 && refused === 0; i++) {
          const res = await second.request.get('/api/v1/me').set('X-API-Key', key.key);
          if (res.status === 200) admitted += 1;
          else refused += 1;
        }
        assert.equal(refused, 1, 'the second instance refuses the key');
        assert.ok(admitted <= 2, `the second instance admitted ${admitted}`);
      } finally {
        await first.close();
        await second.close();
      }
    });
  });
});
