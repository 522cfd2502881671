import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { assertErrorBody } from './support/contract-checker';
import {
  assertNoSecretAtRest,
  createOrg,
  createUserAndLogin,
  PASSWORD,
  rowCounts,
  summary,
  type TestOrg,
  theAuditEventOf,
} from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

const JWT_SECRET = 'test-jwt-secret-of-at-least-32-bytes!!';

describe('login, logout and who-am-i', () => {
  let warden: TestApp;
  let org: TestOrg;
  let jane: { id: string; token: string };
  const handled: string[] = [PASSWORD];

  before(async () => {
    warden = await startTestApp({
      config: {
        jwtSecret: JWT_SECRET,
        rateLimits: {
          login: { perIp: { limit: 1000, windowSeconds: 60 }, perEmail: { limit: 5, windowSeconds: 3600 } },
          admin_pin: { perIp: { limit: 100, windowSeconds: 60 }, perEmail: { limit: 100, windowSeconds: 60 } },
        },
      },
    });
    org = await createOrg(warden, 'starter');
    jane = await createUserAndLogin(warden, org, 'jane@example.com', 'admin');
    handled.push(org.key, jane.token);
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('POST /auth/login answers a JWT (HS256, typ JWT, iss/aud warden, 30 min) with the user', async () => {
    const res = await warden.request.post('/api/v1/auth/login').send({ email: 'JANE@example.com', password: PASSWORD }).expect(200);
    handled.push(res.body.token);
    assert.equal(res.body.user.email, 'jane@example.com');
    assert.equal(res.body.user.role, 'admin');
    assert.ok(res.body.user.last_login_at);
    const decoded = jwt.decode(res.body.token, { complete: true })!;
    assert.deepEqual(decoded.header, { alg: 'HS256', typ: 'JWT' });
    const payload = decoded.payload as jwt.JwtPayload;
    assert.equal(payload.iss, 'warden');
    assert.equal(payload.aud, 'warden');
    assert.equal(payload.sub, res.body.user.id);
    assert.equal(payload.exp! - payload.iat!, 30 * 60);
    assert.equal(new Date(res.body.expires_at).getTime(), payload.exp! * 1000);
    const [session] = await warden.database.dataSource.query(`SELECT kind, user_id FROM sessions WHERE id = $1`, [payload.sid]);
    assert.deepEqual(session, { kind: 'user', user_id: res.body.user.id });
  });

  it('a wrong password and an unknown email get the same 401, and no session is made', async () => {
    const before = await rowCounts(warden, ['sessions']);
    const wrong = await warden.request.post('/api/v1/auth/login').send({ email: 'jane@example.com', password: 'not it' }).expect(401);
    const unknown = await warden.request.post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: PASSWORD }).expect(401);
    assert.equal(wrong.body.code, 'LOGIN_FAILED');
    assert.equal(unknown.body.code, 'LOGIN_FAILED');
    assert.equal(wrong.body.message, unknown.body.message);
    assert.deepEqual(await rowCounts(warden, ['sessions']), before);
  });

  it('GET /auth/me describes a user behind a JWT: org, roles, permissions, expiry', async () => {
    const res = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${jane.token}`).expect(200);
    assert.equal(res.body.type, 'user');
    assert.equal(res.body.user.id, jane.id);
    assert.equal(res.body.org.id, org.id);
    assert.equal(res.body.org.plan, 'starter');
    assert.deepEqual(res.body.roles, ['admin']);
    assert.ok(res.body.permissions.includes('api_key.edit'));
    assert.ok(!res.body.permissions.includes('owner.grant'));
    assert.equal(res.body.api_key, undefined);
  });

  it('GET /auth/me describes an API key, sent as X-API-Key or as a bearer token', async () => {
    for (const header of [
      ['X-API-Key', org.key],
      ['Authorization', `Bearer ${org.key}`],
    ] as const) {
      const res = await warden.request.get('/api/v1/auth/me').set(header[0], header[1]).expect(200);
      assert.equal(res.body.type, 'api_key');
      assert.equal(res.body.api_key.id, org.keyId);
      assert.equal(res.body.api_key.prefix, org.key.slice(0, 12));
      assert.equal(res.body.org.id, org.id);
      assert.equal(res.body.user, undefined);
    }
  });

  it('POST /auth/logout revokes the session: the same JWT gets 401 CREDENTIAL_REVOKED afterwards', async () => {
    const login = await warden.request.post('/api/v1/auth/login').send({ email: 'jane@example.com', password: PASSWORD }).expect(200);
    handled.push(login.body.token);
    const bearer = `Bearer ${login.body.token}`;
    await warden.request.get('/api/v1/auth/me').set('Authorization', bearer).expect(200);
    const res = await warden.request.post('/api/v1/auth/logout').set('Authorization', bearer).expect(200);
    assert.deepEqual(res.body, { revoked: true });
    const refused = await warden.request.get('/api/v1/auth/me').set('Authorization', bearer).expect(401);
    assert.equal(refused.body.code, 'CREDENTIAL_REVOKED');
    // Other sessions of the same user are untouched.
    await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${jane.token}`).expect(200);
  });

  it("a login and a logout are audit events in the user's org: by the user, on the session, with no token in them", async () => {
    // Another user than jane, whose logins the per-email rate limit below counts.
    const audited = await createUserAndLogin(warden, org, 'audited@example.com', 'member');
    const login = await warden.request.post('/api/v1/auth/login').send({ email: 'audited@example.com', password: PASSWORD }).expect(200);
    handled.push(audited.token, login.body.token);
    const sessionId = (jwt.decode(login.body.token) as jwt.JwtPayload).sid as string;
    const loggedIn = await theAuditEventOf(warden, login, [login.body.token, PASSWORD]);
    assert.deepEqual(summary(loggedIn), {
      org: org.id,
      action: 'auth.login',
      actor: ['user', audited.id],
      resource: ['session', sessionId],
      outcome: 'success',
    });
    assert.equal(loggedIn.details.expires_at, login.body.expires_at);

    const logout = await warden.request.post('/api/v1/auth/logout').set('Authorization', `Bearer ${login.body.token}`).expect(200);
    assert.deepEqual(summary(await theAuditEventOf(warden, logout, [login.body.token])), {
      org: org.id,
      action: 'auth.logout',
      actor: ['user', audited.id],
      resource: ['session', sessionId],
      outcome: 'success',
    });
  });

  it('POST /auth/logout with an API key is 409: keys are revoked, not logged out', async () => {
    const res = await warden.request.post('/api/v1/auth/logout').set('X-API-Key', org.key).expect(409);
    assert.equal(res.body.code, 'NOT_A_SESSION');
  });

  describe('refuses forged, expired and malformed JWTs with 401 and the documented body', () => {
    const claims = () => ({ sid: 'ses_x', sub: jane.id });
    const sessionOf = (token: string) => (jwt.decode(token) as jwt.JwtPayload).sid as string;
    const expectRefused = async (token: string, code: string) => {
      const res = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(401);
      assertErrorBody(res.body);
      assert.equal(res.body.code, code);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    };
    const options = { issuer: 'warden', audience: 'warden', expiresIn: 600 } as const;

    it('alg: none', async () => {
      const unsigned = jwt.sign({ ...claims(), sid: sessionOf(jane.token) }, null, { ...options, algorithm: 'none' });
      await expectRefused(unsigned, 'CREDENTIAL_INVALID');
    });

    it('RS256 (an algorithm outside the allow-list), and HS256 keyed with a public key (HS/RS confusion)', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const payload = { ...claims(), sid: sessionOf(jane.token) };
      await expectRefused(jwt.sign(payload, privateKey, { ...options, algorithm: 'RS256' }), 'CREDENTIAL_INVALID');
      const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
      await expectRefused(jwt.sign(payload, publicPem, { ...options, algorithm: 'HS256' }), 'CREDENTIAL_INVALID');
    });

    it('a wrong secret, issuer, audience or typ', async () => {
      const payload = { ...claims(), sid: sessionOf(jane.token) };
      await expectRefused(jwt.sign(payload, 'another-secret-of-at-least-32-bytes!!', options), 'CREDENTIAL_INVALID');
      await expectRefused(jwt.sign(payload, JWT_SECRET, { ...options, issuer: 'someone-else' }), 'CREDENTIAL_INVALID');
      await expectRefused(jwt.sign(payload, JWT_SECRET, { ...options, audience: 'another-api' }), 'CREDENTIAL_INVALID');
      await expectRefused(jwt.sign(payload, JWT_SECRET, { ...options, header: { alg: 'HS256', typ: 'at+jwt' } }), 'CREDENTIAL_INVALID');
      // The real key and claims, but a session that does not exist.
      await expectRefused(jwt.sign({ ...claims(), sid: 'ses_forged' }, JWT_SECRET, options), 'CREDENTIAL_INVALID');
    });

    it('an expired token, and a token that lives longer than the configured lifetime', async () => {
      const payload = { ...claims(), sid: sessionOf(jane.token), iat: Math.floor(Date.now() / 1000) - 3600 };
      await expectRefused(jwt.sign(payload, JWT_SECRET, { ...options, expiresIn: 60 }), 'CREDENTIAL_EXPIRED');
      // Signed 31 minutes ago with a far expiry: maxAge still refuses it.
      const old = { ...claims(), sid: sessionOf(jane.token), iat: Math.floor(Date.now() / 1000) - 31 * 60 };
      await expectRefused(jwt.sign(old, JWT_SECRET, { ...options, expiresIn: 86_400 }), 'CREDENTIAL_EXPIRED');
    });

    it('garbage, a truncated token, and a scheme other than Bearer', async () => {
      await expectRefused('not-a-token', 'CREDENTIAL_MALFORMED');
      await expectRefused(`${jane.token.split('.').slice(0, 2).join('.')}.`, 'CREDENTIAL_INVALID');
      const basic = await warden.request.get('/api/v1/auth/me').set('Authorization', 'Basic amFuZTpwdw==').expect(401);
      assert.equal(basic.body.code, 'CREDENTIAL_MALFORMED');
      const none = await warden.request.get('/api/v1/auth/me').expect(401);
      assert.equal(none.body.code, 'CREDENTIAL_MISSING');
    });
  });

  it('rate-limits login per email with 429 and Retry-After, counted in Postgres', async () => {
    const email = 'limited@example.com';
    for (let i = 0; i < 5; i++) {
      await warden.request.post('/api/v1/auth/login').send({ email, password: 'guess' }).expect(401);
    }
    const res = await warden.request.post('/api/v1/auth/login').send({ email, password: 'guess' }).expect(429);
    assert.equal(res.body.code, 'RATE_LIMITED');
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
    const [row] = await warden.database.dataSource.query(
      `SELECT sum(hits)::int AS hits FROM rate_limit_hits WHERE bucket = 'login' AND subject = $1`,
      [`email:${email}`],
    );
    assert.equal(row.hits, 6);
    // The first refusal in the window is recorded (in the platform chain: nobody is logged in); the ones after it repeat it.
    await warden.request.post('/api/v1/auth/login').send({ email, password: 'guess' }).expect(429);
    const recorded = await warden.auditRows(`SELECT * FROM audit_events WHERE org_id = 'platform' AND action = 'rate_limit.exceeded'`);
    assert.equal(recorded.length, 1);
    assert.deepEqual(
      [recorded[0].actor_type, recorded[0].resource_id, recorded[0].outcome, recorded[0].request_id, recorded[0].details],
      [
        'anonymous',
        'login',
        'denied',
        res.headers['x-request-id'],
        { operation: 'login', email, over: [{ subject: 'email', limit: 5, window_seconds: recorded[0].details.over[0].window_seconds }] },
      ],
    );
    // Another email from the same IP is not limited by it.
    await warden.request.post('/api/v1/auth/login').send({ email: 'jane@example.com', password: PASSWORD }).expect(200);
  });

  it('422 for a body that is not an email and password; nothing is counted as a login', async () => {
    const res = await warden.request.post('/api/v1/auth/login').send({ email: 'not-an-email', password: '' }).expect(422);
    assert.deepEqual(res.body.details.map((detail: { field: string }) => detail.field).sort(), ['email', 'password']);
  });
});
