import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig, type OidcConfig } from '../src/config/config';
import { auditEventsOf, createOrg, createUserAndLogin, PASSWORD, summary, type TestOrg } from './support/identity';
import { Browser, CLIENT_ID, CLIENT_SECRET, REDIRECT_URL, startOidcProvider, TEST_CA, type TestProvider } from './support/oidc-fixture';
import { startTestApp, type TestApp } from './support/test-app';
import { openTestDatabase, type TestDatabase } from './support/test-database';

const CONSOLE = 'https://console.test';

describe('OIDC single sign-on', () => {
  let database: TestDatabase;
  let plain: TestApp;
  let warden: TestApp;
  let other: TestApp;
  let provider: TestProvider;
  let acme: TestOrg;
  let small: TestOrg;

  before(async () => {
    database = await openTestDatabase();
    // Without OIDC_*: SSO is off. It also makes the orgs the mapping names, before the SSO instances start.
    plain = await startTestApp({ database });
    acme = await createOrg(plain, 'enterprise', 'Acme');
    small = await createOrg(plain, 'free', 'Small');
    provider = await startOidcProvider();
    const oidc: OidcConfig = {
      issuer: provider.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUrl: REDIRECT_URL,
      scopes: ['openid', 'email', 'profile'],
      allowedEmailDomains: ['acme.test', 'small.test', 'nowhere.test'],
      orgClaim: 'tenant',
      orgMap: { acme: acme.id, small: small.id, gone: 'org_deleted0000' },
      defaultOrg: undefined,
      roleClaim: 'groups',
      roleMap: { 'warden-admins': 'admin', 'warden-viewers': 'viewer' },
      defaultRole: 'member',
    };
    const config = {
      oidc,
      // The provider is on 127.0.0.1 with the test CA: allow-listed and trusted, as an internal issuer would be.
      outbound: { allowedHosts: ['127.0.0.1'], timeoutMs: 5000, retryBaseMs: 10, caFile: TEST_CA },
      redirectAllowedOrigins: [CONSOLE],
      rateLimits: { oidc: { perIp: { limit: 10_000, windowSeconds: 60 } } },
    };
    warden = await startTestApp({ database, config });
    // A second instance on the same database: a sign-in started on one finishes on the other.
    other = await startTestApp({ database, config });
  });
  after(async () => {
    await provider?.close();
    await database?.close();
  });

  /** Starts on Warden, signs in at the provider as `accountId` with real redirects, and returns the callback's query. */
  async function authorize(accountId: string, start = `/api/v1/auth/oidc/start?redirect_url=${encodeURIComponent(`${CONSOLE}/done`)}`) {
    const started = await warden.request.get(start).expect(302);
    const back = await new Browser().signIn(started.headers.location!, accountId);
    return { callback: `/api/v1/auth/oidc/callback${back.search}`, authorizeUrl: new URL(started.headers.location!) };
  }

  const usersWithEmail = async (email: string) =>
    (await database.dataSource.query(`SELECT id, org_id, role, email_verified_at FROM users WHERE lower(email) = $1`, [email])) as Array<{
      id: string;
      org_id: string;
      role: string;
      email_verified_at: Date | null;
    }>;

  it('says whether SSO is configured; an unconfigured Warden answers 404 OIDC_NOT_CONFIGURED to start and callback', async () => {
    const on = await warden.request.get('/api/v1/auth/oidc/enabled').expect(200);
    assert.deepEqual(on.body, { enabled: true, start_url: '/api/v1/auth/oidc/start' });
    const off = await plain.request.get('/api/v1/auth/oidc/enabled').expect(200);
    assert.deepEqual(off.body, { enabled: false, start_url: null });
    await warden.request.get('/api/v1/auth/oidc/enabled?verbose=1').expect(400);
    const start = await plain.request.get('/api/v1/auth/oidc/start').expect(404);
    assert.equal(start.body.code, 'OIDC_NOT_CONFIGURED');
    const callback = await plain.request.get('/api/v1/auth/oidc/callback?state=abc&code=def').expect(404);
    assert.equal(callback.body.code, 'OIDC_NOT_CONFIGURED');
  });

  it('walks the whole flow: PKCE S256, state and nonce at the provider, a JIT user in the mapped org and role, a login JWT in the fragment', async () => {
    provider.accounts.set('alice-sub', {
      email: 'Alice@acme.test',
      email_verified: true,
      tenant: 'acme',
      groups: ['staff', 'warden-admins'],
      given_name: 'Alice',
      family_name: 'Liddell',
    });
    const { callback, authorizeUrl } = await authorize('alice-sub');
    assert.equal(authorizeUrl.origin, provider.issuer);
    const params = Object.fromEntries(authorizeUrl.searchParams);
    assert.equal(params.code_challenge_method, 'S256');
    assert.equal(params.redirect_uri, REDIRECT_URL);
    assert.equal(params.client_id, CLIENT_ID);
    assert.ok(params.state && params.nonce && params.code_challenge);
    // Only digests and the verifier the callback needs are kept: the state itself is not stored.
    const stored = await database.dataSource.query(`SELECT state_digest, nonce FROM oidc_login_attempts WHERE nonce = $1`, [params.nonce]);
    assert.equal(stored.length, 1);
    assert.ok(!JSON.stringify(stored).includes(params.state!));

    // The other instance finishes what this one started.
    const done = await other.request.get(callback).expect(302);
    assert.equal(done.headers['cache-control'], 'no-store');
    const location = new URL(done.headers.location!);
    assert.equal(`${location.origin}${location.pathname}`, `${CONSOLE}/done`);
    const token = decodeURIComponent(location.hash.replace(/^#token=/, ''));
    const me = await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
    assert.equal(me.body.type, 'user');
    assert.equal(me.body.user.email, 'alice@acme.test');
    assert.equal(me.body.user.org_id, acme.id);
    assert.equal(me.body.user.role, 'admin');
    assert.equal(me.body.user.email_verified, true);
    assert.equal(me.body.user.first_name, 'Alice');
    assert.equal(me.body.user.last_name, 'Liddell');
    assert.equal((jwt.decode(token) as { sub: string }).sub, me.body.user.id);

    const events = (await auditEventsOf(other, done)).map(summary);
    const userId = me.body.user.id as string;
    const sessionId = (jwt.decode(token) as { sid: string }).sid;
    assert.deepEqual(events, [
      {
        org: acme.id,
        action: 'auth.oidc_user_provisioned',
        actor: ['user', userId],
        resource: ['user', userId],
        outcome: 'success',
      },
      { org: acme.id, action: 'auth.oidc_login', actor: ['user', userId], resource: ['session', sessionId], outcome: 'success' },
    ]);
    const [, login] = await auditEventsOf(other, done);
    assert.equal(login!.details.issuer, provider.issuer);
    assert.equal(login!.details.subject, 'alice-sub');
    assert.equal(login!.details.provisioned, true);

    // A password login is impossible for a user SSO made (no usable password).
    const password = await warden.request.post('/api/v1/auth/login').send({ email: 'alice@acme.test', password: PASSWORD }).expect(401);
    assert.equal(password.body.code, 'LOGIN_FAILED');
  });

  it('signs in an existing user without creating another, marks their email verified, and logout revokes the session', async () => {
    const bob = await createUserAndLogin(warden, acme, 'bob@acme.test', 'viewer');
    assert.equal((await usersWithEmail('bob@acme.test'))[0]!.email_verified_at, null);
    // Claims that would map elsewhere do not move an existing user.
    provider.accounts.set('bob-sub', { email: 'bob@acme.test', email_verified: true, tenant: 'small', groups: ['warden-admins'] });
    // A console that asks for JSON gets the URL and sends the browser there itself.
    const started = await warden.request.get('/api/v1/auth/oidc/start').set('Accept', 'application/json').expect(200);
    assert.equal(started.headers['cache-control'], 'no-store');
    assert.ok(Date.parse(started.body.expires_at) > Date.now());
    const back = await new Browser().signIn(started.body.authorization_url, 'bob-sub');
    const done = await warden.request.get(`/api/v1/auth/oidc/callback${back.search}`).expect(200);
    assert.equal(done.body.user.id, bob.id);
    assert.equal(done.body.user.role, 'viewer');
    assert.equal(done.body.user.org_id, acme.id);
    assert.equal(done.body.user.email_verified, true);
    const rows = await usersWithEmail('bob@acme.test');
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.email_verified_at);
    const [event] = await auditEventsOf(warden, done);
    assert.deepEqual(summary(event!).action, 'auth.oidc_login');
    assert.equal(event!.details.provisioned, false);

    await warden.request.post('/api/v1/auth/logout').set('Authorization', `Bearer ${done.body.token}`).expect(200);
    await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${done.body.token}`).expect(401);
  });

  it('takes first and last names from given_name/family_name (else splits name), and a later sign-in updates what the provider changed', async () => {
    const signIn = async (accountId: string) => {
      const done = await warden.request.get((await authorize(accountId)).callback).expect(302);
      const token = decodeURIComponent(new URL(done.headers.location!).hash.replace(/^#token=/, ''));
      const me = await warden.request.get('/api/v1/me').set('Authorization', `Bearer ${token}`).expect(200);
      return { me: me.body, done };
    };
    provider.accounts.set('dana-sub', { email: 'dana@acme.test', email_verified: true, tenant: 'acme', name: '  Dana  van der Berg ' });
    const first = await signIn('dana-sub');
    assert.equal(first.me.user_source, 'login');
    assert.equal(first.me.email, 'dana@acme.test');
    assert.deepEqual([first.me.firstname, first.me.lastname], ['Dana', 'van der Berg']);

    // The provider now sends given_name/family_name, which win over name; the change is in the login's audit event.
    provider.accounts.set('dana-sub', {
      email: 'dana@acme.test',
      email_verified: true,
      name: 'Dana Smith',
      given_name: 'Danielle',
      family_name: 'Smith',
    });
    const second = await signIn('dana-sub');
    assert.equal(second.me.uuid, first.me.uuid);
    assert.deepEqual([second.me.firstname, second.me.lastname], ['Danielle', 'Smith']);
    const [login] = await auditEventsOf(warden, second.done);
    assert.deepEqual(login!.details.names_updated, {
      before: { first_name: 'Dana', last_name: 'van der Berg' },
      after: { first_name: 'Danielle', last_name: 'Smith' },
    });
    const rows = await database.dataSource.query(`SELECT first_name, last_name FROM users WHERE id = $1`, [first.me.uuid]);
    assert.deepEqual(rows, [{ first_name: 'Danielle', last_name: 'Smith' }]);

    // A provider that says nothing of a name leaves it; an unchanged name is no update; an overlong one is cut to the schema's 100.
    provider.accounts.set('dana-sub', { email: 'dana@acme.test', email_verified: true, family_name: 'Smith' });
    const third = await signIn('dana-sub');
    assert.deepEqual([third.me.firstname, third.me.lastname], ['Danielle', 'Smith']);
    assert.equal((await auditEventsOf(warden, third.done))[0]!.details.names_updated, undefined);
    provider.accounts.set('dana-sub', { email: 'dana@acme.test', email_verified: true, given_name: 'D'.repeat(300) });
    const fourth = await signIn('dana-sub');
    assert.deepEqual([fourth.me.firstname, fourth.me.lastname], ['D'.repeat(100), 'Smith']);

    // Names the user resource shows too, and an existing password user gains the provider's names at their first SSO sign-in.
    const password = await createUserAndLogin(warden, acme, 'gwen@acme.test', 'member');
    provider.accounts.set('gwen-sub', { email: 'gwen@acme.test', email_verified: true, name: 'Gwen' });
    const gwen = await signIn('gwen-sub');
    assert.equal(gwen.me.uuid, password.id);
    assert.deepEqual([gwen.me.firstname, gwen.me.lastname], ['Gwen', null]);
  });

  it('uses a sign-in attempt once: the same callback again (a replayed code) is 400 OIDC_STATE_USED', async () => {
    provider.accounts.set('carol-sub', { email: 'carol@acme.test', email_verified: true, tenant: 'acme' });
    const { callback } = await authorize('carol-sub');
    await warden.request.get(callback).expect(302);
    const again = await other.request.get(callback).expect(400);
    assert.equal(again.body.code, 'OIDC_STATE_USED');
    const [refused] = await auditEventsOf(other, again);
    assert.equal(refused!.action, 'auth.oidc_login_failed');
    assert.equal(refused!.outcome, 'failure');
    assert.equal(refused!.details.code, 'OIDC_STATE_USED');
  });

  it('of two concurrent callbacks with one state, exactly one signs in', async () => {
    provider.accounts.set('dave-sub', { email: 'dave@acme.test', email_verified: true, tenant: 'acme' });
    const { callback } = await authorize('dave-sub');
    const answers = await Promise.all([warden.request.get(callback), other.request.get(callback)]);
    assert.deepEqual(answers.map((res) => res.status).sort(), [302, 400]);
    assert.equal((await usersWithEmail('dave@acme.test')).length, 1);
  });

  it('of two concurrent first sign-ins of one person, both sign in and exactly one user is created', async () => {
    provider.accounts.set('olga-sub', { email: 'olga@acme.test', email_verified: true, tenant: 'acme' });
    const callbacks = [(await authorize('olga-sub')).callback, (await authorize('olga-sub')).callback];
    const answers = await Promise.all([warden.request.get(callbacks[0]!), other.request.get(callbacks[1]!)]);
    assert.deepEqual(
      answers.map((res) => res.status),
      [302, 302],
    );
    const [user] = await usersWithEmail('olga@acme.test');
    assert.equal((await usersWithEmail('olga@acme.test')).length, 1);
    const logins = await Promise.all(answers.map((res) => auditEventsOf(res === answers[0] ? warden : other, res)));
    assert.deepEqual(
      logins
        .flat()
        .filter((event) => event.action === 'auth.oidc_user_provisioned')
        .map((event) => event.resource_id),
      [user!.id],
    );
  });

  it('refuses a code sent with another attempt’s state (its PKCE verifier does not match): 401 OIDC_RESPONSE_INVALID', async () => {
    provider.accounts.set('erin-sub', { email: 'erin@acme.test', email_verified: true, tenant: 'acme' });
    const stolen = new URLSearchParams((await authorize('erin-sub')).callback.split('?')[1]);
    const mine = new URLSearchParams((await authorize('erin-sub')).callback.split('?')[1]);
    mine.set('code', stolen.get('code')!);
    const res = await warden.request.get(`/api/v1/auth/oidc/callback?${mine}`).expect(401);
    assert.equal(res.body.code, 'OIDC_RESPONSE_INVALID');
    assert.equal((await usersWithEmail('erin@acme.test')).length, 0);
  });

  it('refuses a wrong, missing or expired state with 400 and never asks the provider', async () => {
    provider.accounts.set('frank-sub', { email: 'frank@acme.test', email_verified: true, tenant: 'acme' });
    const { callback } = await authorize('frank-sub');
    const query = new URLSearchParams(callback.split('?')[1]);
    const wrong = new URLSearchParams(query);
    wrong.set('state', 'not-the-state-warden-sent');
    assert.equal((await warden.request.get(`/api/v1/auth/oidc/callback?${wrong}`).expect(400)).body.code, 'OIDC_STATE_INVALID');
    const missing = new URLSearchParams(query);
    missing.delete('state');
    assert.equal((await warden.request.get(`/api/v1/auth/oidc/callback?${missing}`).expect(400)).body.code, 'OIDC_STATE_INVALID');

    await database.dataSource.query(`UPDATE oidc_login_attempts SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL`);
    const expired = await warden.request.get(callback).expect(400);
    assert.equal(expired.body.code, 'OIDC_STATE_EXPIRED');
    assert.equal((await usersWithEmail('frank@acme.test')).length, 0);
  });

  it('refuses an ID token whose nonce is not the attempt’s: 401 OIDC_RESPONSE_INVALID, no user', async () => {
    provider.accounts.set('grace-sub', { email: 'grace@acme.test', email_verified: true, tenant: 'acme' });
    const started = await warden.request.get('/api/v1/auth/oidc/start').expect(302);
    const tampered = new URL(started.headers.location!);
    tampered.searchParams.set('nonce', 'a-nonce-warden-never-issued');
    const back = await new Browser().signIn(tampered.href, 'grace-sub');
    const res = await warden.request.get(`/api/v1/auth/oidc/callback${back.search}`).expect(401);
    assert.equal(res.body.code, 'OIDC_RESPONSE_INVALID');
    assert.match(res.body.message, /nonce/);
    assert.equal((await usersWithEmail('grace@acme.test')).length, 0);
  });

  it('refuses an unverified email (403 OIDC_EMAIL_UNVERIFIED) and a domain not allowed (403 OIDC_EMAIL_DOMAIN_NOT_ALLOWED); no user is created', async () => {
    provider.accounts.set('heidi-sub', { email: 'heidi@acme.test', email_verified: false, tenant: 'acme' });
    const unverified = await warden.request.get((await authorize('heidi-sub')).callback).expect(403);
    assert.equal(unverified.body.code, 'OIDC_EMAIL_UNVERIFIED');
    const [event] = await auditEventsOf(warden, unverified);
    assert.deepEqual(summary(event!), {
      org: 'platform',
      action: 'auth.oidc_login_failed',
      actor: ['anonymous', 'heidi@acme.test'],
      resource: ['user', null],
      outcome: 'failure',
    });

    provider.accounts.set('ivan-sub', { email: 'ivan@gmail.test', email_verified: true, tenant: 'acme' });
    const foreign = await warden.request.get((await authorize('ivan-sub')).callback).expect(403);
    assert.equal(foreign.body.code, 'OIDC_EMAIL_DOMAIN_NOT_ALLOWED');
    assert.match(foreign.body.message, /gmail\.test/);

    provider.accounts.set('judy-sub', { tenant: 'acme' });
    const noEmail = await warden.request.get((await authorize('judy-sub')).callback).expect(403);
    assert.equal(noEmail.body.code, 'OIDC_EMAIL_UNVERIFIED');

    for (const email of ['heidi@acme.test', 'ivan@gmail.test']) assert.equal((await usersWithEmail(email)).length, 0);
  });

  it('refuses a new user whose claims map to no org, or to one that does not exist: 403 OIDC_NO_ORG', async () => {
    provider.accounts.set('ken-sub', { email: 'ken@nowhere.test', email_verified: true, tenant: 'unmapped' });
    const unmapped = await warden.request.get((await authorize('ken-sub')).callback).expect(403);
    assert.equal(unmapped.body.code, 'OIDC_NO_ORG');
    provider.accounts.set('lea-sub', { email: 'lea@nowhere.test', email_verified: true, tenant: 'gone' });
    const gone = await warden.request.get((await authorize('lea-sub')).callback).expect(403);
    assert.equal(gone.body.code, 'OIDC_NO_ORG');
    assert.match(gone.body.message, /org_deleted0000/);
    for (const email of ['ken@nowhere.test', 'lea@nowhere.test']) assert.equal((await usersWithEmail(email)).length, 0);
  });

  it("provisions within the org's plan: past the free plan's users, 402 USERS_LIMIT_REACHED", async () => {
    for (const [index, groups] of [[], ['warden-viewers'], []].entries()) {
      provider.accounts.set(`small-${index}`, { email: `user${index}@small.test`, email_verified: true, tenant: 'small', groups });
      const res = await warden.request.get((await authorize(`small-${index}`)).callback).expect(302);
      assert.ok(res.headers.location!.startsWith(`${CONSOLE}/done#token=`));
    }
    assert.equal((await usersWithEmail('user1@small.test'))[0]!.role, 'viewer');
    assert.equal((await usersWithEmail('user0@small.test'))[0]!.role, 'member');
    provider.accounts.set('small-3', { email: 'user3@small.test', email_verified: true, tenant: 'small' });
    const full = await warden.request.get((await authorize('small-3')).callback).expect(402);
    assert.equal(full.body.code, 'USERS_LIMIT_REACHED');
    assert.equal((await usersWithEmail('user3@small.test')).length, 0);
  });

  it('answers an error from the provider (the user declined) with 401 OIDC_PROVIDER_ERROR', async () => {
    const started = await warden.request.get('/api/v1/auth/oidc/start').expect(302);
    const state = new URL(started.headers.location!).searchParams.get('state')!;
    const query = new URLSearchParams({ error: 'access_denied', error_description: 'The user said no', state, iss: provider.issuer });
    const res = await warden.request.get(`/api/v1/auth/oidc/callback?${query}&session_state=abc`).expect(401);
    assert.equal(res.body.code, 'OIDC_PROVIDER_ERROR');
    assert.match(res.body.message, /access_denied/);
  });

  it('checks redirect_url against REDIRECT_ALLOWED_ORIGINS (422) and rate-limits per IP (429)', async () => {
    const res = await warden.request.get(`/api/v1/auth/oidc/start?redirect_url=${encodeURIComponent('https://evil.test/x')}`).expect(422);
    assert.equal(res.body.code, 'REDIRECT_NOT_ALLOWED');
    await warden.request.get('/api/v1/auth/oidc/start?redirect_url=not%20a%20url').expect(400);

    const limited = await startTestApp({
      database,
      config: { ...warden.config, rateLimits: { oidc: { perIp: { limit: 1, windowSeconds: 60 } } } },
    });
    // The count is shared through Postgres with the other instances, so the first may already be over the limit.
    assert.ok([302, 429].includes((await limited.request.get('/api/v1/auth/oidc/start')).status));
    const refused = await limited.request.get('/api/v1/auth/oidc/start').expect(429);
    assert.equal(refused.body.code, 'RATE_LIMITED');
    const callback = await limited.request.get('/api/v1/auth/oidc/callback?state=x').expect(429);
    assert.ok(callback.headers['retry-after']);
  });

  it('answers 502 OIDC_PROVIDER_UNAVAILABLE when the provider cannot be reached, or the outbound rules refuse it', async () => {
    const down = await startTestApp({
      database,
      config: { ...warden.config, oidc: { ...warden.config.oidc!, issuer: 'https://127.0.0.1:9' } },
    });
    const start = await down.request.get('/api/v1/auth/oidc/start').expect(502);
    assert.equal(start.body.code, 'OIDC_PROVIDER_UNAVAILABLE');
    // Not allow-listed: loopback is refused by the SSRF rules before any request.
    const refused = await startTestApp({
      database,
      config: { ...warden.config, outbound: { ...warden.config.outbound, allowedHosts: [] } },
    });
    const blocked = await refused.request.get('/api/v1/auth/oidc/start').expect(502);
    assert.match(blocked.body.message, /loopback/);
    // A sign-in started where the provider was reachable cannot finish where it is not.
    provider.accounts.set('mia-sub', { email: 'mia@acme.test', email_verified: true, tenant: 'acme' });
    const callback = await refused.request.get((await authorize('mia-sub')).callback).expect(502);
    assert.equal(callback.body.code, 'OIDC_PROVIDER_UNAVAILABLE');
    assert.equal((await usersWithEmail('mia@acme.test')).length, 0);
  });
});

describe('OIDC configuration', () => {
  it('reads the OIDC_* variables: the callback defaults to PUBLIC_URL, the secret is optional (a public client)', () => {
    const config = loadConfig({
      PUBLIC_URL: 'https://warden.example.com',
      OIDC_ISSUER: 'https://idp.example.com/realms/acme',
      OIDC_CLIENT_ID: 'warden',
      OIDC_ALLOWED_EMAIL_DOMAINS: 'Acme.com, acme.co.uk',
      OIDC_ORG_CLAIM: 'tenant',
      OIDC_ORG_MAP: 'acme=org_abc123, globex=org_def456',
      OIDC_DEFAULT_ORG: 'org_abc123',
      OIDC_ROLE_CLAIM: 'groups',
      OIDC_ROLE_MAP: 'warden-admins=admin,cn=ops=viewer',
      OIDC_DEFAULT_ROLE: 'viewer',
      OIDC_SCOPES: 'openid email profile groups',
    });
    assert.deepEqual(config.oidc, {
      issuer: 'https://idp.example.com/realms/acme',
      clientId: 'warden',
      clientSecret: undefined,
      redirectUrl: 'https://warden.example.com/api/v1/auth/oidc/callback',
      scopes: ['openid', 'email', 'profile', 'groups'],
      allowedEmailDomains: ['acme.com', 'acme.co.uk'],
      orgClaim: 'tenant',
      orgMap: { acme: 'org_abc123', globex: 'org_def456' },
      defaultOrg: 'org_abc123',
      roleClaim: 'groups',
      // The last `=` splits: a claim value may hold one (an LDAP attribute).
      roleMap: { 'warden-admins': 'admin', 'cn=ops': 'viewer' },
      defaultRole: 'viewer',
    });
    assert.equal(loadConfig({}).oidc, undefined);
  });

  it('refuses a half or unsafe OIDC configuration at start-up, naming each variable', () => {
    assert.throws(
      () =>
        loadConfig({
          OIDC_ISSUER: 'http://idp.example.com',
          OIDC_ORG_MAP: 'acme=not-an-org',
          OIDC_ROLE_MAP: 'admins=superuser',
          OIDC_DEFAULT_ROLE: 'root',
          OIDC_DEFAULT_ORG: 'acme',
          OIDC_SCOPES: 'email profile',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((problem) => problem.split(':')[0]).sort(), [
          'OIDC_ALLOWED_EMAIL_DOMAINS',
          'OIDC_CLIENT_ID',
          'OIDC_DEFAULT_ORG',
          'OIDC_DEFAULT_ROLE',
          'OIDC_ISSUER',
          'OIDC_ORG_MAP',
          'OIDC_ROLE_MAP',
          'OIDC_SCOPES',
        ]);
        return true;
      },
    );
    assert.throws(() => loadConfig({ OIDC_CLIENT_ID: 'warden' }), /OIDC_CLIENT_ID: is set but OIDC_ISSUER is not/);
  });
});
