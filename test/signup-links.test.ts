import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg, createUserAndLogin, assertNoSecretAtRest, PASSWORD, rowCounts } from './support/identity';
import { startMailCatcher, type MailCatcher } from './support/mail-catcher';
import { startTestApp, type TestApp } from './support/test-app';

const CONSOLE = 'https://console.example.com';
const linkIn = (text: string, path: string) => {
  const match = new RegExp(`http://localhost:9300${path}\\?token=([A-Za-z0-9_]+)`).exec(text);
  assert.ok(match, `a ${path} link in the mail`);
  return match[1]!;
};

describe('signup, magic links and email verification (seed 001), with mail over SMTP', () => {
  let warden: TestApp;
  let mail: MailCatcher;
  const handled: string[] = [PASSWORD];

  before(async () => {
    mail = await startMailCatcher();
    const generous = { perIp: { limit: 1000, windowSeconds: 60 }, perEmail: { limit: 100, windowSeconds: 60 } };
    warden = await startTestApp({
      config: {
        smtpUrl: mail.url,
        redirectAllowedOrigins: [CONSOLE],
        rateLimits: { login: generous, admin_pin: generous, signup: generous, magic_link: generous },
      },
    });
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
    await mail.close();
  });

  it('POST /auth/signup creates a free org and its owner, logs them in and mails a verification link', async () => {
    const res = await warden.request
      .post('/api/v1/auth/signup')
      .send({ org_name: 'Acme Corp', email: 'founder@acme.example', password: PASSWORD, daily_budget_usd: 25, network: 'base', create_wallet: false })
      .expect(201);
    handled.push(res.body.token);
    assert.equal(res.body.org.name, 'Acme Corp');
    assert.equal(res.body.org.plan, 'free');
    assert.equal(res.body.user.role, 'owner');
    assert.equal(res.body.user.org_id, res.body.org.id);
    assert.equal(res.body.user.email_verified, false);
    assert.equal(res.body.email_verification.delivery, 'email');
    assert.equal(res.body.email_verification.token, undefined);
    const me = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${res.body.token}`).expect(200);
    assert.deepEqual(me.body.roles, ['owner']);

    const message = await mail.next('founder@acme.example');
    assert.match(message.raw, /Subject: Verify your email for Warden/);
    const token = linkIn(message.text, '/api/v1/auth/verify/callback');
    handled.push(token);
    const verified = await warden.request.get(`/api/v1/auth/verify/callback?token=${token}`).expect(200);
    assert.equal(verified.headers['cache-control'], 'no-store');
    assert.equal(verified.body.user.email_verified, true);
    handled.push(verified.body.token);
    const again = await warden.request.get(`/api/v1/auth/verify/callback?token=${token}`).expect(401);
    assert.equal(again.body.code, 'LINK_USED');

    const resend = await warden.request.post('/api/v1/auth/verify/start').set('Authorization', `Bearer ${res.body.token}`).send({}).expect(409);
    assert.equal(resend.body.code, 'EMAIL_ALREADY_VERIFIED');
  });

  it('signup idempotency: same key and body → the same account; same key, other body → 409; nothing else is written', async () => {
    const body = { email: 'retry@acme.example', password: PASSWORD, idempotency_key: 'signup-7f3c2a91' };
    const first = await warden.request.post('/api/v1/auth/signup').send(body).expect(201);
    const tables = ['orgs', 'users'];
    const before = await rowCounts(warden, tables);
    const second = await warden.request.post('/api/v1/auth/signup').send(body).expect(201);
    handled.push(first.body.token, second.body.token);
    assert.equal(second.body.org.id, first.body.org.id);
    assert.equal(second.body.user.id, first.body.user.id);
    assert.notEqual(second.body.token, first.body.token, 'tokens are never stored, so a replay gets a fresh one');
    const conflict = await warden.request.post('/api/v1/auth/signup').send({ ...body, org_name: 'Other' }).expect(409);
    assert.equal(conflict.body.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.deepEqual(await rowCounts(warden, tables), before);
    const [row] = await warden.database.dataSource.query(`SELECT * FROM signup_idempotency_keys WHERE key = $1`, [body.idempotency_key]);
    assert.equal(row.user_id, first.body.user.id);
    assert.ok(!JSON.stringify(row).includes(PASSWORD));
  });

  it('concurrent signups with one idempotency key create exactly one account', async () => {
    const body = { email: 'race@acme.example', password: PASSWORD, idempotency_key: 'signup-race-0001' };
    const results = await Promise.all(Array.from({ length: 8 }, () => warden.request.post('/api/v1/auth/signup').send(body)));
    for (const res of results) handled.push(res.body.token);
    assert.deepEqual(results.map((res) => res.status), Array(8).fill(201));
    assert.equal(new Set(results.map((res) => res.body.user.id)).size, 1);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE email = $1`, [body.email]);
    assert.equal(n, 1);
  });

  it('signup refuses a taken email (409), a redirect outside the allow-list (422) and short passwords (422), writing nothing', async () => {
    const tables = ['orgs', 'users', 'login_links'];
    const before = await rowCounts(warden, tables);
    const taken = await warden.request.post('/api/v1/auth/signup').send({ email: 'FOUNDER@acme.example', password: PASSWORD }).expect(409);
    assert.equal(taken.body.code, 'EMAIL_TAKEN');
    const redirect = await warden.request
      .post('/api/v1/auth/signup')
      .send({ email: 'new@acme.example', password: PASSWORD, redirect_url: 'https://evil.example/steal' })
      .expect(422);
    assert.equal(redirect.body.code, 'REDIRECT_NOT_ALLOWED');
    await warden.request.post('/api/v1/auth/signup').send({ email: 'new@acme.example', password: 'short' }).expect(422);
    assert.deepEqual(await rowCounts(warden, tables), before);
  });

  it('magic link: mailed, followed once → 302 to the allowed redirect with the JWT in the fragment; a replay is 401', async () => {
    const start = await warden.request
      .post('/api/v1/auth/magic/start')
      .send({ email: 'founder@acme.example', redirect_url: `${CONSOLE}/auth/done` })
      .expect(200);
    assert.equal(start.body.delivery, 'email');
    const ttl = new Date(start.body.expires_at).getTime() - Date.now();
    assert.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000);
    const token = linkIn((await mail.next('founder@acme.example')).text, '/api/v1/auth/magic/callback');
    handled.push(token);
    const followed = await warden.request.get(`/api/v1/auth/magic/callback?token=${token}`).expect(302);
    const location = new URL(followed.headers.location!);
    assert.equal(`${location.origin}${location.pathname}`, `${CONSOLE}/auth/done`);
    const jwt = decodeURIComponent(/^#token=(.+)$/.exec(location.hash)![1]!);
    handled.push(jwt);
    await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${jwt}`).expect(200);
    const replay = await warden.request.get(`/api/v1/auth/magic/callback?token=${token}`).expect(401);
    assert.equal(replay.body.code, 'LINK_USED');
  });

  it('magic link: an unknown email gets the same answer and no mail; a forged or expired link is 401', async () => {
    const sent = mail.messages.length;
    const res = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'nobody@acme.example' }).expect(200);
    assert.deepEqual(Object.keys(res.body).sort(), ['delivery', 'expires_at']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(mail.messages.length, sent);
    const forged = await warden.request.get('/api/v1/auth/magic/callback?token=mgl_notarealtoken').expect(401);
    assert.equal(forged.body.code, 'LINK_INVALID');

    await warden.request.post('/api/v1/auth/magic/start').send({ email: 'founder@acme.example' }).expect(200);
    const token = linkIn((await mail.next('founder@acme.example')).text, '/api/v1/auth/magic/callback');
    handled.push(token);
    await warden.database.dataSource.query(`UPDATE login_links SET expires_at = now() - interval '1 second' WHERE kind = 'magic_link' AND consumed_at IS NULL`);
    const expired = await warden.request.get(`/api/v1/auth/magic/callback?token=${token}`).expect(401);
    assert.equal(expired.body.code, 'LINK_EXPIRED');
  });

  it('concurrent uses of one magic link: exactly one logs in', async () => {
    await warden.request.post('/api/v1/auth/magic/start').send({ email: 'founder@acme.example' }).expect(200);
    const token = linkIn((await mail.next('founder@acme.example')).text, '/api/v1/auth/magic/callback');
    handled.push(token);
    const results = await Promise.all(Array.from({ length: 6 }, () => warden.request.get(`/api/v1/auth/magic/callback?token=${token}`)));
    for (const res of results) if (res.body.token) handled.push(res.body.token);
    assert.deepEqual(results.map((res) => res.status).sort(), [200, 401, 401, 401, 401, 401]);
  });

  it('verify/start resends and supersedes the earlier link; an API key cannot use it (409)', async () => {
    const org = await createOrg(warden, 'enterprise');
    handled.push(org.key);
    const user = await createUserAndLogin(warden, org, 'unverified@acme.example', 'member');
    handled.push(user.token);
    const bearer = { Authorization: `Bearer ${user.token}` };
    await warden.request.post('/api/v1/auth/verify/start').set(bearer).expect(200);
    const firstLink = linkIn((await mail.next('unverified@acme.example')).text, '/api/v1/auth/verify/callback');
    const started = await warden.request.post('/api/v1/auth/verify/start').set(bearer).send({ redirect_url: `${CONSOLE}/verified` }).expect(200);
    assert.equal(started.body.delivery, 'email');
    const secondLink = linkIn((await mail.next('unverified@acme.example')).text, '/api/v1/auth/verify/callback');
    handled.push(firstLink, secondLink);
    const superseded = await warden.request.get(`/api/v1/auth/verify/callback?token=${firstLink}`).expect(401);
    assert.equal(superseded.body.code, 'LINK_USED');
    const done = await warden.request.get(`/api/v1/auth/verify/callback?token=${secondLink}`).expect(302);
    assert.ok(done.headers.location!.startsWith(`${CONSOLE}/verified#token=`));
    const [row] = await warden.database.dataSource.query(`SELECT email_verified_at FROM users WHERE id = $1`, [user.id]);
    assert.ok(row.email_verified_at);

    const byKey = await warden.request.post('/api/v1/auth/verify/start').set('X-API-Key', org.key).expect(409);
    assert.equal(byKey.body.code, 'NOT_A_USER_LOGIN');
    await warden.request.post('/api/v1/auth/verify/start').set(bearer).send({ redirect_url: 'https://evil.example' }).expect(422);
  });
});

describe('without SMTP ("email disabled"), link tokens come back in the answer', () => {
  let warden: TestApp;
  before(async () => {
    warden = await startTestApp({
      config: {
        rateLimits: {
          login: { perIp: { limit: 100, windowSeconds: 60 }, perEmail: { limit: 100, windowSeconds: 60 } },
          admin_pin: { perIp: { limit: 100, windowSeconds: 60 }, perEmail: { limit: 100, windowSeconds: 60 } },
          signup: { perIp: { limit: 100, windowSeconds: 3600 }, perEmail: { limit: 2, windowSeconds: 3600 } },
          magic_link: { perIp: { limit: 100, windowSeconds: 3600 }, perEmail: { limit: 3, windowSeconds: 3600 } },
        },
      },
    });
  });
  after(() => warden.close());

  it('signup, magic/start and verify/start answer delivery: response with the token; callbacks answer 200', async () => {
    const signup = await warden.request.post('/api/v1/auth/signup').send({ email: 'solo@example.com', password: PASSWORD }).expect(201);
    assert.equal(signup.body.email_verification.delivery, 'response');
    assert.match(signup.body.email_verification.token, /^vfy_[A-Za-z0-9]{38}$/);
    assert.equal(signup.body.org.name, 'example.com');
    const start = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'solo@example.com' }).expect(200);
    assert.equal(start.body.delivery, 'response');
    const login = await warden.request.get(`/api/v1/auth/magic/callback?token=${start.body.token}`).expect(200);
    assert.equal(login.body.user.email, 'solo@example.com');
    assert.equal(login.body.user.email_verified, true, 'following a mailed link proves the mailbox');
    const [outbox] = await warden.database.dataSource.query(`SELECT status FROM email_outbox WHERE subject = 'Your Warden login link'`);
    assert.equal(outbox.status, 'in_response');
  });

  it('rate-limits signup and magic links per email (429 with Retry-After)', async () => {
    let res;
    for (let i = 0; i < 3; i++) res = await warden.request.post('/api/v1/auth/signup').send({ email: 'again@example.com', password: PASSWORD });
    assert.equal(res!.status, 429);
    for (let i = 0; i < 4; i++) res = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'solo@example.com' });
    assert.equal(res!.status, 429);
    assert.ok(Number(res!.headers['retry-after']) >= 1);
  });
});
