import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { digestSecret } from '../src/auth/credentials';
import {
  adminLogin,
  assertNoSecretAtRest,
  createOrg,
  requestPin,
  rowCounts,
  summary,
  type TestOrg,
  theAuditEventOf,
} from './support/identity';
import { type MailCatcher, startMailCatcher } from './support/mail-catcher';
import { startTestApp, type TestApp } from './support/test-app';

const ADMIN = 'admin@sekuire.ai';

describe('platform admin login by emailed PIN (seed 000)', () => {
  let warden: TestApp;
  let mail: MailCatcher;
  let org: TestOrg;
  const handled: string[] = [];

  before(async () => {
    mail = await startMailCatcher();
    warden = await startTestApp({
      config: {
        smtpUrl: mail.url,
        platformAdminEmails: [ADMIN, 'ops@example.com'],
        rateLimits: {
          login: { perIp: { limit: 1000, windowSeconds: 60 }, perEmail: { limit: 100, windowSeconds: 60 } },
          admin_pin: { perIp: { limit: 1000, windowSeconds: 3600 }, perEmail: { limit: 40, windowSeconds: 3600 } },
        },
      },
    });
    org = await createOrg(warden, 'free');
    handled.push(org.key);
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
    await mail.close();
  });

  it('request-pin answers the seed shape and mails a 6-digit PIN through SMTP; verify-pin returns an adm_ session', async () => {
    const started = Date.now();
    const res = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: ADMIN }).expect(200);
    assert.deepEqual(Object.keys(res.body).sort(), ['challenge_id', 'delivery', 'expires_at']);
    assert.equal(res.body.delivery, 'email');
    const ttl = new Date(res.body.expires_at).getTime() - started;
    assert.ok(ttl > 4.9 * 60_000 && ttl <= 5 * 60_000 + 1000, `PIN lifetime ${ttl} ms`);
    const message = await mail.next(ADMIN);
    assert.match(message.raw, /Subject: Your Warden admin PIN/);
    const pin = /PIN is (\d{6})/.exec(message.raw)![1]!;
    handled.push(pin);

    const verified = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: ADMIN, challenge_id: res.body.challenge_id, pin })
      .expect(200);
    assert.match(verified.body.session_token, /^adm_[A-Za-z0-9]{38}$/);
    assert.equal(verified.body.email, ADMIN);
    const sessionTtl = new Date(verified.body.expires_at).getTime() - Date.now();
    assert.ok(Math.abs(sessionTtl - 420 * 60_000) < 10_000, `session lifetime ${sessionTtl} ms`);
    handled.push(verified.body.session_token);

    const me = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${verified.body.session_token}`).expect(200);
    assert.equal(me.body.type, 'admin_session');
    assert.deepEqual(me.body.admin, { email: ADMIN });
    assert.equal(me.body.org, undefined);
    assert.ok(me.body.permissions.includes('org.create'));
    const [outbox] = await warden.database.dataSource.query(`SELECT recipient, subject, status FROM email_outbox WHERE recipient = $1`, [
      ADMIN,
    ]);
    assert.deepEqual(outbox, { recipient: ADMIN, subject: 'Your Warden admin PIN', status: 'sent' });
  });

  it('answers an unknown email with the same shape and status, creates no challenge and sends no mail', async () => {
    const before = await rowCounts(warden, ['admin_pin_challenges']);
    const sent = mail.messages.length;
    const res = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: 'mallory@example.com' }).expect(200);
    assert.deepEqual(Object.keys(res.body).sort(), ['challenge_id', 'delivery', 'expires_at']);
    assert.deepEqual(await rowCounts(warden, ['admin_pin_challenges']), before);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(mail.messages.length, sent);
    const verify = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: 'mallory@example.com', challenge_id: res.body.challenge_id, pin: '000000' })
      .expect(401);
    assert.equal(verify.body.code, 'PIN_INVALID');
  });

  it("PIN requests, PIN logins and admin logouts are platform events; a non-admin email's request is a failure its caller cannot tell apart", async () => {
    const asked = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: ADMIN }).expect(200);
    const pin = /PIN is (\d{6})/.exec((await mail.next(ADMIN)).raw)![1]!;
    handled.push(pin);
    assert.deepEqual(summary(await theAuditEventOf(warden, asked, [pin])), {
      org: 'platform',
      action: 'admin.pin_requested',
      actor: ['anonymous', ADMIN],
      resource: ['admin_pin_challenge', asked.body.challenge_id],
      outcome: 'success',
    });

    const stranger = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: 'Mallory@example.com' }).expect(200);
    assert.deepEqual(Object.keys(stranger.body).sort(), Object.keys(asked.body).sort());
    assert.equal(stranger.body.delivery, asked.body.delivery);
    assert.deepEqual(summary(await theAuditEventOf(warden, stranger)), {
      org: 'platform',
      action: 'admin.pin_requested',
      actor: ['anonymous', 'mallory@example.com'],
      resource: ['admin_pin_challenge', stranger.body.challenge_id],
      outcome: 'failure',
    });

    const verified = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: ADMIN, challenge_id: asked.body.challenge_id, pin })
      .expect(200);
    const token = verified.body.session_token;
    handled.push(token);
    const [session] = await warden.database.dataSource.query(`SELECT id FROM sessions WHERE token_digest = $1`, [digestSecret(token)]);
    const login = await theAuditEventOf(warden, verified, [token, pin]);
    assert.deepEqual(summary(login), {
      org: 'platform',
      action: 'admin.login',
      actor: ['admin_session', ADMIN],
      resource: ['session', session.id],
      outcome: 'success',
    });
    assert.equal(login.details.challenge_id, asked.body.challenge_id);

    const logout = await warden.request.post('/api/v1/auth/logout').set('Authorization', `Bearer ${token}`).expect(200);
    assert.deepEqual(summary(await theAuditEventOf(warden, logout, [token])), {
      org: 'platform',
      action: 'auth.logout',
      actor: ['admin_session', ADMIN],
      resource: ['session', session.id],
      outcome: 'success',
    });
  });

  it('a PIN works once: the second use is 401 PIN_USED and makes no session', async () => {
    const { challengeId, pin } = await requestPin(warden, mail, ADMIN);
    handled.push(pin);
    const first = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: ADMIN, challenge_id: challengeId, pin })
      .expect(200);
    handled.push(first.body.session_token);
    const before = await rowCounts(warden, ['sessions']);
    const again = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: ADMIN, challenge_id: challengeId, pin })
      .expect(401);
    assert.equal(again.body.code, 'PIN_USED');
    assert.deepEqual(await rowCounts(warden, ['sessions']), before);
  });

  it('five wrong PINs kill the challenge: the 6th attempt is refused even with the right PIN', async () => {
    const { challengeId, pin } = await requestPin(warden, mail, ADMIN);
    handled.push(pin);
    const wrong = pin === '000000' ? '111111' : '000000';
    for (let attempt = 1; attempt <= 5; attempt++) {
      const res = await warden.request
        .post('/api/v1/admin/auth/verify-pin')
        .send({ email: ADMIN, challenge_id: challengeId, pin: wrong })
        .expect(401);
      assert.equal(res.body.code, 'PIN_INVALID');
    }
    const sixth = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: ADMIN, challenge_id: challengeId, pin })
      .expect(401);
    assert.equal(sixth.body.code, 'PIN_ATTEMPTS_EXCEEDED');
    const [row] = await warden.database.dataSource.query(`SELECT attempts, consumed_at FROM admin_pin_challenges WHERE id = $1`, [
      challengeId,
    ]);
    assert.deepEqual(row, { attempts: 5, consumed_at: null });
  });

  it('an expired PIN is 401 PIN_EXPIRED; a PIN sent with another email is 401 PIN_INVALID', async () => {
    const { challengeId, pin } = await requestPin(warden, mail, ADMIN);
    handled.push(pin);
    const other = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: 'ops@example.com', challenge_id: challengeId, pin })
      .expect(401);
    assert.equal(other.body.code, 'PIN_INVALID');
    await warden.database.dataSource.query(`UPDATE admin_pin_challenges SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      challengeId,
    ]);
    const expired = await warden.request
      .post('/api/v1/admin/auth/verify-pin')
      .send({ email: ADMIN, challenge_id: challengeId, pin })
      .expect(401);
    assert.equal(expired.body.code, 'PIN_EXPIRED');
  });

  it('an admin session creates orgs and sets plans; an org owner key cannot (403 naming the permission)', async () => {
    const session = await adminLogin(warden, mail, ADMIN);
    handled.push(session);
    const admin = { Authorization: `Bearer ${session}` };
    const created = await warden.request.post('/api/v1/orgs').set(admin).send({ name: 'Globex', plan: 'starter' }).expect(201);
    assert.match(created.body.id, /^org_[0-9a-z]{26}$/);
    assert.equal(created.body.plan, 'starter');
    const upgraded = await warden.request.put(`/api/v1/orgs/${org.id}/plan`).set(admin).send({ plan: 'professional' }).expect(200);
    assert.equal(upgraded.body.plan, 'professional');
    await warden.request.put('/api/v1/orgs/org_doesnotexist/plan').set(admin).send({ plan: 'free' }).expect(404);

    const listed = await warden.request.get('/api/v1/orgs').set(admin).expect(200);
    assert.deepEqual(listed.body.orgs.map((o: { id: string }) => o.id).sort(), [created.body.id, org.id].sort());

    const denied = await warden.request.post('/api/v1/orgs').set('X-API-Key', org.key).send({ name: 'Sneaky' }).expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    assert.match(denied.body.message, /'org\.create'/);
    const planDenied = await warden.request
      .put(`/api/v1/orgs/${org.id}/plan`)
      .set('X-API-Key', org.key)
      .send({ plan: 'enterprise' })
      .expect(403);
    assert.match(planDenied.body.message, /'org\.plan\.edit'/);
    await warden.request.put(`/api/v1/orgs/${org.id}/plan`).set(admin).send({ plan: 'gold' }).expect(422);
    await warden.request.put(`/api/v1/orgs/${org.id}/plan`).set(admin).send({ plan: 'free' }).expect(200);
  });

  it('an admin session acts on the org a request names, and is refused where none is named', async () => {
    const session = await adminLogin(warden, mail, ADMIN);
    handled.push(session);
    const admin = { Authorization: `Bearer ${session}` };
    const users = await warden.request.get(`/api/v1/users?org_id=${org.id}`).set(admin).expect(200);
    assert.ok(Array.isArray(users.body.users));
    const keys = await warden.request.get('/api/v1/api-keys').set(admin).expect(403);
    assert.equal(keys.body.code, 'ORG_CREDENTIAL_REQUIRED');
  });

  it('logging out an admin session revokes it; a forged adm_ token is 401', async () => {
    const session = await adminLogin(warden, mail, ADMIN);
    handled.push(session);
    await warden.request.post('/api/v1/auth/logout').set('Authorization', `Bearer ${session}`).expect(200);
    const res = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${session}`).expect(401);
    assert.equal(res.body.code, 'CREDENTIAL_REVOKED');
    const forged = await warden.request
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer adm_${'a'.repeat(38)}`)
      .expect(401);
    assert.equal(forged.body.code, 'CREDENTIAL_MALFORMED');
  });

  it('an expired admin session is 401 CREDENTIAL_EXPIRED', async () => {
    const session = await adminLogin(warden, mail, ADMIN);
    handled.push(session);
    await warden.database.dataSource.query(
      `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE kind = 'admin' AND revoked_at IS NULL`,
    );
    const res = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${session}`).expect(401);
    assert.equal(res.body.code, 'CREDENTIAL_EXPIRED');
  });

  it('rate-limits PIN requests per email (429 with Retry-After)', async () => {
    let res: Response | undefined;
    for (let i = 0; i < 41; i++) res = await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: 'flood@example.com' });
    assert.equal(res!.status, 429);
    assert.ok(Number(res!.headers['retry-after']) >= 1);
  });
});

describe('without SMTP_URL, mail goes to the log and the outbox, so npm start works alone', () => {
  it('logs the PIN mail and records it as logged, without the body', async () => {
    const warden = await startTestApp({ config: { platformAdminEmails: [ADMIN] } });
    try {
      await warden.request.post('/api/v1/admin/auth/request-pin').send({ email: ADMIN }).expect(200);
      for (let i = 0; i < 50 && !warden.logs.some((line) => line.mail_to === ADMIN); i++) await new Promise((r) => setTimeout(r, 20));
      const line = warden.logs.find((entry) => entry.mail_to === ADMIN)!;
      assert.match(String(line.mail_text), /PIN is \d{6}/);
      // The outbox row is written once the mail is logged: wait for it too, rather than race it.
      let rows: Array<{ status: string; body?: unknown }> = [];
      for (let i = 0; i < 50 && rows.length === 0; i++) {
        rows = await warden.database.dataSource.query(`SELECT * FROM email_outbox`);
        if (rows.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.status, 'logged');
      assert.equal(rows[0]!.body, undefined);
    } finally {
      await warden.close();
    }
  });
});
