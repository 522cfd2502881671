import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import type { Response } from 'supertest';
import { ConfigError, loadConfig } from '../src/config/config';
import { assertNoSecretAtRest, createOrg, createUserAndLogin, PASSWORD, rowCounts, summary, theAuditEventOf } from './support/identity';
import { type MailCatcher, startMailCatcher } from './support/mail-catcher';
import { startTestApp, type TestApp } from './support/test-app';

const CONSOLE = 'https://console.example.com';
const MAGIC = '/api/v1/auth/magic/callback';
const VERIFY = '/api/v1/auth/verify/callback';
const linkIn = (text: string, path: string) => {
  const match = new RegExp(`http://localhost:9300${path}\\?token=([A-Za-z0-9_]+)`).exec(text);
  assert.ok(match, `a ${path} link in the mail`);
  return match[1]!;
};
const sessionOf = (token: string) => (jwt.decode(token) as jwt.JwtPayload).sid as string;
/** The answer without its clock reading, to compare two answers given a few milliseconds apart. */
const timeless = ({ expires_at: _expiresAt, ...rest }: Record<string, unknown>) => rest;

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
      .send({
        org_name: 'Acme Corp',
        email: 'founder@acme.example',
        password: PASSWORD,
        daily_budget_usd: 25,
        network: 'base',
        create_wallet: false,
      })
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

    const resend = await warden.request
      .post('/api/v1/auth/verify/start')
      .set('Authorization', `Bearer ${res.body.token}`)
      .send({})
      .expect(409);
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
    const conflict = await warden.request
      .post('/api/v1/auth/signup')
      .send({ ...body, org_name: 'Other' })
      .expect(409);
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
    assert.deepEqual(
      results.map((res) => res.status),
      Array(8).fill(201),
    );
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
    // Out-of-range budgets (once a 500 from a bigint of Infinity) and free-text networks are 422.
    for (const extra of [{ daily_budget_usd: 1e20 }, { daily_budget_usd: 1000001 }, { network: 'Base Mainnet!' }]) {
      await warden.request
        .post('/api/v1/auth/signup')
        .send({ email: 'new@acme.example', password: PASSWORD, ...extra })
        .expect(422);
    }
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
    await warden.database.dataSource.query(
      `UPDATE login_links SET expires_at = now() - interval '1 second' WHERE kind = 'magic_link' AND consumed_at IS NULL`,
    );
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

  it("signup, link requests and link logins are audit events: the new org's first event, then the user's org; an unknown email's request goes to the platform chain", async () => {
    const email = 'audited@acme.example';
    const signup = await warden.request.post('/api/v1/auth/signup').send({ org_name: 'Audited', email, password: PASSWORD }).expect(201);
    const orgId = signup.body.org.id;
    const userId = signup.body.user.id;
    const firstLink = linkIn((await mail.next(email)).text, VERIFY);
    handled.push(signup.body.token, firstLink);
    const signedUp = await theAuditEventOf(warden, signup, [signup.body.token, firstLink, PASSWORD]);
    assert.deepEqual(summary(signedUp), {
      org: orgId,
      action: 'auth.signup',
      actor: ['user', userId],
      resource: ['session', sessionOf(signup.body.token)],
      outcome: 'success',
    });
    assert.equal(signedUp.seq, 1);

    const resend = await warden.request
      .post('/api/v1/auth/verify/start')
      .set('Authorization', `Bearer ${signup.body.token}`)
      .send({})
      .expect(200);
    const link = linkIn((await mail.next(email)).text, VERIFY);
    handled.push(link);
    assert.deepEqual(summary(await theAuditEventOf(warden, resend, [link])), {
      org: orgId,
      action: 'auth.email_verification_requested',
      actor: ['user', userId],
      resource: ['user', userId],
      outcome: 'success',
    });
    const verified = await warden.request.get(`${VERIFY}?token=${link}`).expect(200);
    handled.push(verified.body.token);
    assert.deepEqual(summary(await theAuditEventOf(warden, verified, [link, verified.body.token])), {
      org: orgId,
      action: 'auth.email_verified',
      actor: ['user', userId],
      resource: ['session', sessionOf(verified.body.token)],
      outcome: 'success',
    });

    const known = await warden.request.post('/api/v1/auth/magic/start').send({ email }).expect(200);
    const unknown = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'Ghost@acme.example' }).expect(200);
    assert.deepEqual(timeless(unknown.body), timeless(known.body));
    const magic = linkIn((await mail.next(email)).text, MAGIC);
    handled.push(magic);
    assert.deepEqual(summary(await theAuditEventOf(warden, known, [magic])), {
      org: orgId,
      action: 'auth.magic_link_requested',
      actor: ['anonymous', email],
      resource: ['user', userId],
      outcome: 'success',
    });
    assert.deepEqual(summary(await theAuditEventOf(warden, unknown)), {
      org: 'platform',
      action: 'auth.magic_link_requested',
      actor: ['anonymous', 'ghost@acme.example'],
      resource: ['user', null],
      outcome: 'failure',
    });
    const followed = await warden.request.get(`${MAGIC}?token=${magic}`).expect(200);
    handled.push(followed.body.token);
    assert.deepEqual(summary(await theAuditEventOf(warden, followed, [magic, followed.body.token])), {
      org: orgId,
      action: 'auth.magic_link_login',
      actor: ['user', userId],
      resource: ['session', sessionOf(followed.body.token)],
      outcome: 'success',
    });
  });

  it('verify/start resends and supersedes the earlier link; an API key cannot use it (409)', async () => {
    const org = await createOrg(warden, 'enterprise');
    handled.push(org.key);
    const user = await createUserAndLogin(warden, org, 'unverified@acme.example', 'member');
    handled.push(user.token);
    const bearer = { Authorization: `Bearer ${user.token}` };
    await warden.request.post('/api/v1/auth/verify/start').set(bearer).expect(200);
    const firstLink = linkIn((await mail.next('unverified@acme.example')).text, '/api/v1/auth/verify/callback');
    const started = await warden.request
      .post('/api/v1/auth/verify/start')
      .set(bearer)
      .send({ redirect_url: `${CONSOLE}/verified` })
      .expect(200);
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

const LIMITS = {
  login: { perIp: { limit: 100, windowSeconds: 60 }, perEmail: { limit: 100, windowSeconds: 60 } },
  admin_pin: { perIp: { limit: 100, windowSeconds: 60 }, perEmail: { limit: 100, windowSeconds: 60 } },
  signup: { perIp: { limit: 100, windowSeconds: 3600 }, perEmail: { limit: 2, windowSeconds: 3600 } },
  magic_link: { perIp: { limit: 100, windowSeconds: 3600 }, perEmail: { limit: 3, windowSeconds: 3600 } },
};

describe('without SMTP_URL (the default), a link goes to the server log, never back to whoever asked for it', () => {
  let warden: TestApp;
  before(async () => {
    warden = await startTestApp({ config: { rateLimits: LIMITS } });
  });
  after(() => warden.close());

  /** The link of the first mail to `email` the log shows after line `from` (mail is written just after the answer). */
  const loggedLink = async (email: string, path: string, from: number) => {
    for (let i = 0; i < 100; i++) {
      const line = warden.logs.slice(from).find((entry) => entry.mail_to === email && String(entry.mail_text).includes(path));
      if (line) return linkIn(String(line.mail_text), path);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return assert.fail(`no ${path} mail to ${email} in the log`);
  };

  it("an anonymous magic/start for the owner's email answers no token, and exactly what an unknown email gets; the link is in the log only", async () => {
    const owner = 'owner@solo.example';
    await warden.request.post('/api/v1/auth/signup').send({ email: owner, password: PASSWORD }).expect(201);
    const from = warden.logs.length;
    const known = await warden.request.post('/api/v1/auth/magic/start').send({ email: owner });
    const unknown = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'nobody@solo.example' });
    assert.equal(known.status, 200);
    assert.equal(unknown.status, known.status);
    assert.deepEqual(timeless(known.body), { delivery: 'email' });
    assert.deepEqual(timeless(unknown.body), timeless(known.body));

    const token = await loggedLink(owner, MAGIC, from);
    const login = await warden.request.get(`${MAGIC}?token=${token}`).expect(200);
    assert.equal(login.body.user.email, owner);
    assert.equal(login.body.user.email_verified, true, 'following a mailed link proves the mailbox');
    assert.ok(!warden.logs.some((entry) => entry.mail_to === 'nobody@solo.example'), 'an unknown email gets no mail');
    const outbox = await warden.database.dataSource.query(`SELECT status FROM email_outbox WHERE subject = 'Your Warden login link'`);
    assert.deepEqual(outbox, [{ status: 'logged' }]);
  });

  it('signup and verify/start answer no token either; the verification link is in the log', async () => {
    const from = warden.logs.length;
    const signup = await warden.request.post('/api/v1/auth/signup').send({ email: 'solo@example.com', password: PASSWORD }).expect(201);
    assert.deepEqual(timeless(signup.body.email_verification), { delivery: 'email' });
    assert.equal(signup.body.org.name, 'example.com');
    await loggedLink('solo@example.com', VERIFY, from);
    const resendFrom = warden.logs.length;
    const resend = await warden.request
      .post('/api/v1/auth/verify/start')
      .set('Authorization', `Bearer ${signup.body.token}`)
      .send({})
      .expect(200);
    assert.deepEqual(timeless(resend.body), { delivery: 'email' });
    const verified = await warden.request.get(`${VERIFY}?token=${await loggedLink('solo@example.com', VERIFY, resendFrom)}`).expect(200);
    assert.equal(verified.body.user.email_verified, true);
  });

  it('rate-limits signup and magic links per email (429 with Retry-After)', async () => {
    let res: Response | undefined;
    for (let i = 0; i < 3; i++)
      res = await warden.request.post('/api/v1/auth/signup').send({ email: 'again@example.com', password: PASSWORD });
    assert.equal(res!.status, 429);
    for (let i = 0; i < 4; i++) res = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'limited@example.com' });
    assert.equal(res!.status, 429);
    assert.ok(Number(res!.headers['retry-after']) >= 1);
  });
});

describe('DEV_RETURN_LINK_TOKENS=true (development only): link tokens come back in the answer, as seed 001 documents for "email disabled"', () => {
  let warden: TestApp;
  before(async () => {
    warden = await startTestApp({ config: { devReturnLinkTokens: true, rateLimits: LIMITS } });
  });
  after(() => warden.close());

  it('says so loudly at start-up', () => {
    assert.ok(warden.logs.some((line) => line.level === 'warn' && /DEV_RETURN_LINK_TOKENS is on/.test(String(line.msg))));
  });

  it('signup and magic/start answer delivery: response with the token; an unknown email gets a token too, which logs nobody in', async () => {
    const signup = await warden.request.post('/api/v1/auth/signup').send({ email: 'dev@example.com', password: PASSWORD }).expect(201);
    assert.equal(signup.body.email_verification.delivery, 'response');
    assert.match(signup.body.email_verification.token, /^vfy_[A-Za-z0-9]{38}$/);
    const start = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'dev@example.com' }).expect(200);
    assert.equal(start.body.delivery, 'response');
    const login = await warden.request.get(`${MAGIC}?token=${start.body.token}`).expect(200);
    assert.equal(login.body.user.email, 'dev@example.com');
    const [outbox] = await warden.database.dataSource.query(`SELECT status FROM email_outbox WHERE subject = 'Your Warden login link'`);
    assert.equal(outbox.status, 'in_response');

    const unknown = await warden.request.post('/api/v1/auth/magic/start').send({ email: 'nobody@example.com' }).expect(200);
    assert.deepEqual(Object.keys(unknown.body).sort(), Object.keys(start.body).sort());
    assert.match(unknown.body.token, /^mgl_[A-Za-z0-9]{38}$/);
    const refused = await warden.request.get(`${MAGIC}?token=${unknown.body.token}`).expect(401);
    assert.equal(refused.body.code, 'LINK_INVALID');
  });
});

describe('the DEV_RETURN_LINK_TOKENS switch', () => {
  it('is off by default, and on only when set', () => {
    assert.equal(loadConfig({}).devReturnLinkTokens, false);
    assert.equal(loadConfig({ DEV_RETURN_LINK_TOKENS: 'true' }).devReturnLinkTokens, true);
    assert.equal(loadConfig({ NODE_ENV: 'production' }).devReturnLinkTokens, false);
  });

  it('stops start-up together with NODE_ENV=production, naming both', () => {
    assert.throws(
      () => loadConfig({ DEV_RETURN_LINK_TOKENS: 'true', NODE_ENV: 'production' }),
      (error: Error) =>
        error instanceof ConfigError && /DEV_RETURN_LINK_TOKENS/.test(error.message) && /NODE_ENV=production/.test(error.message),
    );
  });
});
