import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PlanName } from '../src/config/config';
import { type HttpReceiver, startHttpReceiver, status } from './support/http-receiver';
import { createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { type MailCatcher, startMailCatcher } from './support/mail-catcher';
import { OUTBOUND } from './support/siem-fixture';
import { startTestApp, type TestApp } from './support/test-app';

const SUPPORT_EMAIL = 'support@warden.test';
const SLACK_PATH = '/services/T000/B000/supp0rtS3cret';
const CHANNELS = ['email', 'priority', 'slack', 'csm'] as const;
type Channel = (typeof CHANNELS)[number];
/** The plan table's gates: the cheapest plan that opens each channel. */
const REQUIRED: Record<Channel, { plan: PlanName; feature: string }> = {
  email: { plan: 'starter', feature: 'email_support' },
  priority: { plan: 'professional', feature: 'priority_support' },
  slack: { plan: 'professional', feature: 'slack_support' },
  csm: { plan: 'enterprise', feature: 'dedicated_csm' },
};
const RANK: PlanName[] = ['free', 'starter', 'professional', 'enterprise'];
const HOUR = 3_600_000;

const request = (fields: Record<string, unknown> = {}) => ({
  subject: 'Need help with SIEM export',
  message: 'Datadog export returned 502 at 2026-02-18T12:00:00Z',
  category: 'integrations',
  contact_email: 'ops@example.com',
  ...fields,
});

describe('support channels: plan gates, tickets with SLAs, delivery by mail and Slack (issue 16, seed 000)', () => {
  let warden: TestApp;
  let mail: MailCatcher;
  let receiver: HttpReceiver;

  const post = (channel: Channel, org: TestOrg, body: unknown) =>
    warden.request
      .post(`/api/v1/support/${channel}`)
      .set('X-API-Key', org.key)
      .send(body as object);
  const ticketRow = async (id: string) =>
    (await warden.database.dataSource.query(`SELECT * FROM support_tickets WHERE id = $1`, [id]))[0] as Record<string, unknown>;

  before(async () => {
    mail = await startMailCatcher();
    receiver = await startHttpReceiver();
    warden = await startTestApp({
      config: {
        smtpUrl: mail.url,
        outbound: OUTBOUND,
        support: { email: SUPPORT_EMAIL, slackWebhookUrl: receiver.url(SLACK_PATH) },
        rateLimits: { support: { perIp: { limit: 1000, windowSeconds: 3600 }, perOrg: { limit: 6, windowSeconds: 3600 } } },
      },
    });
  });
  after(async () => {
    await warden?.close();
    await mail?.close();
    await receiver?.close();
  });

  it('gates each channel by plan with the seed-000 402 body, and opens it from the plan that includes it', async () => {
    for (const plan of RANK) {
      const org = await createOrg(warden, plan, `Support ${plan}`);
      for (const channel of CHANNELS) {
        const required = REQUIRED[channel];
        if (RANK.indexOf(plan) >= RANK.indexOf(required.plan)) {
          receiver.reply(status(200, {}, 'ok'));
          const res = await post(channel, org, request()).expect(201);
          assert.deepEqual([res.body.channel, res.body.delivery_status], [channel, 'delivered']);
          if (channel !== 'slack') await mail.next(SUPPORT_EMAIL);
          continue;
        }
        const res = await post(channel, org, request()).expect(402);
        assert.deepEqual(res.body, {
          error: 'plan_limit_exceeded',
          message: `Your current plan (${plan}) does not include ${required.feature}. Upgrade to ${required.plan} or higher.`,
          code: `${required.feature.toUpperCase()}_REQUIRES_UPGRADE`,
          required_plan: required.plan,
          upgrade_url: warden.config.upgradeUrl,
          request_id: res.headers['x-request-id'],
        });
      }
      const { body } = await warden.request.get('/api/v1/support/tickets').set('X-API-Key', org.key).expect(200);
      assert.equal(body.tickets.length, CHANNELS.filter((c) => RANK.indexOf(plan) >= RANK.indexOf(REQUIRED[c].plan)).length);
    }
    const refused = await warden.database.dataSource.query(
      `SELECT count(*)::int AS n FROM support_tickets t JOIN orgs o ON o.id = t.org_id WHERE o.plan = 'free'`,
    );
    assert.equal(refused[0].n, 0, 'a refused request leaves no ticket');
  });

  it('mails email, priority and CSM tickets to SUPPORT_EMAIL, with the SLA of the channel and an audit event', async () => {
    const org = await createOrg(warden, 'enterprise');
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set('X-API-Key', org.key).send({ name: 'Prod' }).expect(201);
    const sla: Record<string, number> = { email: 48, priority: 4, csm: 1 };
    for (const channel of ['email', 'priority', 'csm'] as const) {
      const res = await post(channel, org, request({ organization_id: org.id, workspace_id: ws.body.id })).expect(201);
      const ticket = res.body;
      assert.match(ticket.id, /^tkt_/);
      assert.deepEqual(
        [ticket.org_id, ticket.workspace_id, ticket.status, ticket.delivery_status, ticket.delivery_attempts, ticket.delivery_error],
        [org.id, ws.body.id, 'open', 'delivered', 1, null],
      );
      assert.equal(Date.parse(ticket.sla_due_at) - Date.parse(ticket.created_at), sla[channel]! * HOUR);
      assert.ok(ticket.delivered_at);
      const caught = await mail.next(SUPPORT_EMAIL);
      assert.deepEqual(caught.to, [SUPPORT_EMAIL]);
      const tag = channel === 'email' ? 'support' : channel;
      assert.match(caught.raw.replace(/\r\n /g, ' '), new RegExp(`Subject: \\[${tag}\\] Need help with SIEM export \\(${ticket.id}\\)`));
      assert.ok(caught.text.includes('Datadog export returned 502'));
      assert.ok(caught.text.includes('Contact ops@example.com'));
      assert.ok(caught.text.includes(`workspace ${ws.body.id}`));
      const row = await ticketRow(ticket.id);
      assert.deepEqual([row.channel, row.delivery_status, row.created_by], [channel, 'delivered', org.keyId]);
      const event = await theAuditEventOf(warden, res);
      assert.deepEqual(
        [event.action, event.resource_type, event.resource_id, event.outcome, event.details.channel],
        ['support.ticket_created', 'support_ticket', ticket.id, 'success', channel],
      );
      assert.ok(!JSON.stringify(event).includes('Datadog export returned'), 'the message stays out of the audit log');
    }
  });

  it('posts Slack tickets to SUPPORT_SLACK_WEBHOOK_URL with the caller’s markup escaped', async () => {
    const org = await createOrg(warden, 'professional');
    receiver.reset();
    const res = await post('slack', org, request({ message: 'Ping <!channel> and <https://evil.example|click>' })).expect(201);
    assert.deepEqual([res.body.delivery_status, res.body.delivery_attempts], ['delivered', 1]);
    assert.equal(Date.parse(res.body.sla_due_at) - Date.parse(res.body.created_at), 8 * HOUR);
    assert.equal(receiver.requests.length, 1);
    const [sent] = receiver.requests;
    assert.deepEqual([sent!.method, sent!.path, sent!.headers['content-type']], ['POST', SLACK_PATH, 'application/json']);
    const { text } = JSON.parse(sent!.body);
    assert.ok(text.includes(res.body.id));
    assert.ok(text.includes('Ping &lt;!channel&gt; and &lt;https://evil.example|click&gt;'));
  });

  it('records a Slack delivery that fails after the outbound client’s retries, and keeps the ticket', async () => {
    const org = await createOrg(warden, 'professional');
    receiver.reset();
    receiver.reply(status(500), status(503), status(500));
    const res = await post('slack', org, request()).expect(201);
    assert.deepEqual(
      [res.body.delivery_status, res.body.delivery_attempts, res.body.delivery_error, res.body.delivered_at],
      ['failed', 3, 'Slack webhook: HTTP 500', null],
    );
    assert.equal(receiver.requests.length, 3);
    const row = await ticketRow(res.body.id);
    assert.deepEqual([row.delivery_status, row.delivery_attempts], ['failed', 3]);
    const listed = await warden.request.get('/api/v1/support/tickets').set('X-API-Key', org.key).expect(200);
    assert.deepEqual(
      listed.body.tickets.map((t: { id: string; delivery_status: string }) => [t.id, t.delivery_status]),
      [[res.body.id, 'failed']],
    );
  });

  it('retries a failed delivery on request: exactly one of two concurrent retries sends, a delivered ticket is 409', async () => {
    const org = await createOrg(warden, 'professional');
    const other = await createOrg(warden, 'professional');
    const viewer = await createUserAndLogin(warden, org, 'viewer@retry.test', 'viewer');
    receiver.reset();
    receiver.reply(status(500), status(500), status(500), status(500), status(500), status(500));
    const [first, second] = [await post('slack', org, request()).expect(201), await post('slack', org, request()).expect(201)];
    assert.deepEqual([first.body.delivery_status, second.body.delivery_status], ['failed', 'failed']);
    const retry = (id: string, credential: Record<string, string> = { 'X-API-Key': org.key }) =>
      warden.request.post(`/api/v1/support/tickets/${id}/retry-delivery`).set(credential);

    receiver.reset();
    const retried = await retry(first.body.id).expect(200);
    assert.deepEqual(
      [retried.body.id, retried.body.delivery_status, retried.body.delivery_attempts, retried.body.delivery_error],
      [first.body.id, 'delivered', 4, null],
    );
    assert.equal(receiver.requests.length, 1);
    const event = await theAuditEventOf(warden, retried);
    assert.deepEqual([event.action, event.resource_id, event.outcome], ['support.delivery_retried', first.body.id, 'success']);
    assert.equal((await retry(first.body.id).expect(409)).body.code, 'SUPPORT_DELIVERY_NOT_RETRYABLE');

    receiver.reset();
    const race = await Promise.all([retry(second.body.id), retry(second.body.id)]);
    assert.deepEqual(race.map((res) => res.status).sort(), [200, 409]);
    assert.equal(receiver.requests.length, 1, 'the ticket went out once');
    assert.equal((await ticketRow(second.body.id)).delivery_status, 'delivered');

    const elsewhere = await retry(second.body.id, { 'X-API-Key': other.key }).expect(404);
    assert.equal(elsewhere.body.code, 'SUPPORT_TICKET_NOT_FOUND');
    await retry(second.body.id, { Authorization: `Bearer ${viewer.token}` }).expect(403);
    await warden.request.post(`/api/v1/support/tickets/${second.body.id}/retry-delivery`).expect(401);
    await retry('ticket-1').expect(400);
  });

  it('records a mail that the SMTP server refuses, and says when a channel has nowhere to go', async () => {
    const broken = await startTestApp({
      database: warden.database,
      config: { smtpUrl: 'smtp://127.0.0.1:1', support: { email: SUPPORT_EMAIL, slackWebhookUrl: undefined } },
    });
    try {
      const org = await createOrg(broken, 'enterprise');
      const failed = await broken.request.post('/api/v1/support/email').set('X-API-Key', org.key).send(request()).expect(201);
      assert.deepEqual(
        [failed.body.delivery_status, failed.body.delivery_attempts, failed.body.delivery_error],
        ['failed', 1, 'the SMTP server did not accept the mail'],
      );
      const nowhere = await broken.request.post('/api/v1/support/slack').set('X-API-Key', org.key).send(request()).expect(201);
      assert.deepEqual(
        [nowhere.body.delivery_status, nowhere.body.delivery_attempts, nowhere.body.delivery_error],
        ['not_configured', 0, 'SUPPORT_SLACK_WEBHOOK_URL is not set'],
      );
      // Once the operator sets it (here: the app the other tests use), the same ticket can go out.
      receiver.reset();
      const sent = await warden.request
        .post(`/api/v1/support/tickets/${nowhere.body.id}/retry-delivery`)
        .set('X-API-Key', org.key)
        .expect(200);
      assert.deepEqual([sent.body.delivery_status, sent.body.delivery_attempts, receiver.requests.length], ['delivered', 1, 1]);
    } finally {
      await broken.close();
    }
  });

  it('keeps orgs apart: another org’s id or workspace is 404, and each lists only its own tickets', async () => {
    const mine = await createOrg(warden, 'enterprise', 'Mine');
    const theirs = await createOrg(warden, 'enterprise', 'Theirs');
    const theirWs = await warden.request
      .post(`/api/v1/orgs/${theirs.id}/workspaces`)
      .set('X-API-Key', theirs.key)
      .send({ name: 'Theirs' })
      .expect(201);
    // Refusals count against the org's rate limit too (six an hour here): one workspace probe is enough.
    for (const channel of CHANNELS) {
      const org = await post(channel, mine, request({ organization_id: theirs.id })).expect(404);
      assert.equal(org.body.code, 'ORG_NOT_FOUND');
    }
    const ws = await post('email', mine, request({ workspace_id: theirWs.body.id })).expect(404);
    assert.equal(ws.body.code, 'WORKSPACE_NOT_FOUND');
    const own = await post('email', mine, request()).expect(201);
    await mail.next(SUPPORT_EMAIL);
    const theirList = await warden.request.get('/api/v1/support/tickets').set('X-API-Key', theirs.key).expect(200);
    assert.deepEqual(theirList.body.tickets, []);
    const myList = await warden.request.get('/api/v1/support/tickets?limit=1').set('X-API-Key', mine.key).expect(200);
    assert.deepEqual(
      myList.body.tickets.map((t: { id: string }) => t.id),
      [own.body.id],
    );
  });

  it('lets members open and read tickets and viewers only read them; pages with a cursor', async () => {
    const org = await createOrg(warden, 'starter');
    const member = await createUserAndLogin(warden, org, 'member@support.test', 'member');
    const viewer = await createUserAndLogin(warden, org, 'viewer@support.test', 'viewer');
    const opened = [];
    for (let i = 0; i < 3; i++) {
      const res = await warden.request
        .post('/api/v1/support/email')
        .set('Authorization', `Bearer ${member.token}`)
        .send(request({ subject: `Question ${i}` }))
        .expect(201);
      assert.equal((await ticketRow(res.body.id)).created_by, member.id);
      await mail.next(SUPPORT_EMAIL);
      opened.push(res.body.id);
    }
    for (const channel of CHANNELS) {
      const denied = await warden.request
        .post(`/api/v1/support/${channel}`)
        .set('Authorization', `Bearer ${viewer.token}`)
        .send(request())
        .expect(403);
      assert.equal(denied.body.code, 'PERMISSION_DENIED');
    }
    const first = await warden.request.get('/api/v1/support/tickets?limit=2').set('Authorization', `Bearer ${viewer.token}`).expect(200);
    assert.equal(first.body.has_more, true);
    const second = await warden.request
      .get(`/api/v1/support/tickets?limit=2&cursor=${first.body.next_cursor}`)
      .set('Authorization', `Bearer ${viewer.token}`)
      .expect(200);
    assert.deepEqual(
      [...first.body.tickets, ...second.body.tickets].map((t: { id: string }) => t.id),
      opened.reverse(),
    );
    assert.equal(second.body.has_more, false);
    await warden.request.get('/api/v1/support/tickets?cursor=***').set('X-API-Key', org.key).expect(400);
    const apiKeyWithout = await warden.request
      .post('/api/v1/api-keys')
      .set('X-API-Key', org.key)
      .send({ name: 'no support', permissions: ['org.read'] })
      .expect(201);
    await warden.request.get('/api/v1/support/tickets').set('X-API-Key', apiKeyWithout.body.key).expect(403);
    await warden.request.get('/api/v1/support/tickets').expect(401);
  });

  it('refuses bad input (422), CR/LF in the subject included, malformed JSON (400) and no credential (401), leaving no ticket', async () => {
    const org = await createOrg(warden, 'enterprise');
    const bad: Array<[string, Record<string, unknown>]> = [
      ['subject', request({ subject: 'Help\r\nBcc: victim@example.com' })],
      ['subject', request({ subject: 'x'.repeat(201) })],
      ['subject', request({ subject: '' })],
      ['message', request({ message: 'x'.repeat(10_001) })],
      ['contact_email', request({ contact_email: 'not an email' })],
      ['contact_email', request({ contact_email: 'ops@example.com\r\nBcc: victim@example.com' })],
      ['category', request({ category: 'Billing & <script>' })],
      ['workspace_id', request({ workspace_id: 'project-1' })],
      ['priority', request({ priority: 'urgent' })],
    ];
    for (const channel of CHANNELS) {
      for (const [field, body] of bad) {
        const res = await post(channel, org, body).expect(422);
        assert.ok(JSON.stringify(res.body.details).includes(field), `${channel}: ${field} is named`);
      }
      const missing = await post(channel, org, { subject: 'Only a subject' }).expect(422);
      assert.equal(missing.body.code, 'VALIDATION_FAILED');
      await warden.request
        .post(`/api/v1/support/${channel}`)
        .set('X-API-Key', org.key)
        .set('Content-Type', 'application/json')
        .send('{"subject": ')
        .expect(400);
      await warden.request.post(`/api/v1/support/${channel}`).send(request()).expect(401);
    }
    const { body } = await warden.request.get('/api/v1/support/tickets').set('X-API-Key', org.key).expect(200);
    assert.deepEqual(body.tickets, []);
  });

  it('rate-limits ticket creation per org across channels (429 with Retry-After)', async () => {
    const org = await createOrg(warden, 'enterprise');
    for (let i = 0; i < 6; i++) {
      const res = await post(CHANNELS[i % 4]!, org, request()).expect(201);
      assert.equal(res.headers['ratelimit-remaining'], String(5 - i));
    }
    for (const channel of CHANNELS) {
      const res = await post(channel, org, request()).expect(429);
      assert.equal(res.body.code, 'RATE_LIMITED');
      assert.ok(Number(res.headers['retry-after']) > 0);
    }
    await warden.request
      .post('/api/v1/support/tickets/tkt_0000000000000000000000000a/retry-delivery')
      .set('X-API-Key', org.key)
      .expect(429);
    const { body } = await warden.request.get('/api/v1/support/tickets').set('X-API-Key', org.key).expect(200);
    assert.equal(body.tickets.length, 6);
  });
});
