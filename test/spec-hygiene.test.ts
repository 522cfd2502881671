import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg, createUserAndLogin, PASSWORD } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('spec hygiene', () => {
  let warden: TestApp;

  before(async () => {
    warden = await startTestApp({
      config: { rateLimits: { login: { perIp: { limit: 1000, windowSeconds: 60 }, perEmail: { limit: 3, windowSeconds: 3600 } } } },
    });
  });
  after(() => warden.close());

  it('names no schema after a JavaScript global, so generated clients do not shadow one (Error is ErrorResponse)', async () => {
    const { body } = await warden.request.get('/openapi.json').expect(200);
    const schemas = Object.keys(body.components.schemas);
    assert.deepEqual(
      schemas.filter((name) => name in globalThis),
      [],
    );
    assert.ok(schemas.includes('ErrorResponse'));
  });

  it('every operation that changes state, or opens a session, names the audit event it writes', async () => {
    const { body } = await warden.request.get('/openapi.json').expect(200);
    // GETs read, except the emailed links' landing pages, which log the caller in.
    const opensSession = new Set(['completeMagicLink', 'completeEmailVerification', 'completeOidcLogin']);
    const silent: string[] = [];
    for (const [path, item] of Object.entries(
      body.paths as Record<string, Record<string, { operationId?: string; [key: string]: unknown }>>,
    )) {
      for (const [method, operation] of Object.entries(item)) {
        if (!operation?.operationId) continue;
        const changes = (method !== 'get' && method !== 'head') || opensSession.has(operation.operationId);
        if (changes && typeof operation['x-audit'] !== 'string') silent.push(`${method.toUpperCase()} ${path} (${operation.operationId})`);
        const recordedBy = operation['x-audit-recorded-by'];
        assert.ok(
          recordedBy === undefined || recordedBy === 'service',
          `${operation.operationId}: x-audit-recorded-by ${String(recordedBy)}`,
        );
      }
    }
    assert.deepEqual(silent, []);
  });

  it('lets a service write its own x-audit event only where the gate cannot (README "Adding an operation", step 5)', async () => {
    // Each exception, and why the gate's after-success event in the operation's transaction cannot be it.
    const allowed: Record<string, string> = {
      exportAuditLogsToDatadog: 'calls out: the event records the sending once it is over',
      exportAuditLogsToSplunk: 'calls out: the event records the sending once it is over',
      exportAuditLogsToPagerDuty: 'calls out: the event records the sending once it is over',
      renewInstallationLease: 'conditional: only a lease that rotates the runtime token is an event',
      recordAgentHeartbeat: 'conditional: only coming online is an event',
      createTrustHeaders: 'the event must not carry the signed headers as its after',
      login: 'a refused login is an event too, and the actor is the user the email names',
      logout: 'an admin session belongs to no org: its logout goes to the platform chain',
      signup: 'the actor is the user the operation creates',
      startMagicLink: 'answers the same for unknown emails; the event names the user only when there is one',
      completeMagicLink: 'the actor is the user the link names; a refused link is an event too',
      startEmailVerification: 'the event is written once the link is issued, by the user it is for',
      completeEmailVerification: 'the actor is the user the link names; a refused link is an event too',
      completeOidcLogin:
        'the actor is the user the provider vouches for (created by the operation on a first login); a refusal is an event too',
      requestAdminPin: 'answers the same for unknown emails; the event belongs to the platform chain',
      verifyAdminPin: 'a refused PIN is an event too, on the platform chain',
      createDecision: 'every ruling is an event, a denial too, written with its billing event through the group-committed record',
      createTransfer: 'the ruling and its metering commit on their own (a refused transfer still meters), the transfer with its event',
      gatewayGet: 'every call is an event, a refused one too, recorded once the vendor answered (its status is in the event)',
      gatewayPost: 'every call is an event, a refused one too, recorded once the vendor answered (its status is in the event)',
      gatewayPut: 'every call is an event, a refused one too, recorded once the vendor answered (its status is in the event)',
      gatewayPatch: 'every call is an event, a refused one too, recorded once the vendor answered (its status is in the event)',
      gatewayDelete: 'every call is an event, a refused one too, recorded once the vendor answered (its status is in the event)',
      claimAgentJob: 'conditional: only a claim that hands out a job (or fails one for good) is an event; an empty poll is none',
      ...Object.fromEntries(
        ['Email', 'Priority', 'Slack', 'Csm'].map((channel) => [
          `createSupportRequest${channel}`,
          'the ticket and its event commit before the delivery, which the gate’s transaction would hold through an SMTP or Slack call',
        ]),
      ),
      retrySupportTicketDelivery: 'the event carries the delivery’s outcome, known only once the mail or Slack call is over',
      scanImage: 'calls out: the registry is asked for the digest outside any transaction; the scan and its event commit after',
      completeAgentJob: 'the event names the job and its outcome (job.completed or job.failed), which the 204 answer does not carry',
      issueAgentDek: 'the event must not carry the sealed and wrapped key as its after, only its id',
      retrieveRequestWrap: 'the event must not carry the secret value the answer does',
      retrieveAgentWrap: 'the event must not carry the sealed value the answer does',
      createStripeCustomer: 'calls out: Stripe is never called inside a transaction; the event is written once Stripe answered',
      createStripeInvoice: 'calls out: Stripe is never called inside a transaction; the event is written once Stripe answered',
      receiveStripeWebhook:
        'no caller: the event goes to the org of the invoice the delivery concerns, by the system (none for an unknown one)',
    };
    const { body } = await warden.request.get('/openapi.json').expect(200);
    const recordedByService = Object.values(body.paths as Record<string, Record<string, Record<string, unknown>>>)
      .flatMap((item) => Object.values(item))
      .filter((operation) => operation?.['x-audit-recorded-by'] === 'service')
      .map((operation) => operation.operationId as string)
      .sort();
    assert.deepEqual(recordedByService, Object.keys(allowed).sort());
  });

  it('sends the RateLimit headers of the tightest limit on every answer of a rate-limited operation, 429 included', async () => {
    // Counters are fixed windows (the per-email one is an hour here): a run that straddles the hour would count anew midway.
    const toNextHour = 3_600_000 - (Date.now() % 3_600_000);
    if (toNextHour < 15_000) await new Promise((resolve) => setTimeout(resolve, toNextHour + 100));
    const org = await createOrg(warden);
    await createUserAndLogin(warden, org, 'jane@example.com');

    // The per-email limit (3) is tighter than the per-IP one (1000); jane's first login counted.
    const success = await warden.request.post('/api/v1/auth/login').send({ email: 'jane@example.com', password: PASSWORD }).expect(200);
    assert.equal(success.headers['ratelimit-limit'], '3');
    assert.equal(success.headers['ratelimit-remaining'], '1');
    const reset = Number(success.headers['ratelimit-reset']);
    assert.ok(reset >= 1 && reset <= 3600, `RateLimit-Reset ${reset}`);

    const refusals = [];
    for (let i = 0; i < 4; i++) {
      refusals.push(await warden.request.post('/api/v1/auth/login').send({ email: 'mallory@example.com', password: 'guess' }));
    }
    assert.deepEqual(
      refusals.map((res) => [res.status, res.headers['ratelimit-remaining']]),
      [
        [401, '2'],
        [401, '1'],
        [401, '0'],
        [429, '0'],
      ],
    );
    const limited = refusals[3]!;
    assert.equal(limited.headers['ratelimit-limit'], '3');
    assert.equal(limited.headers['ratelimit-reset'], limited.headers['retry-after']);
  });
});
