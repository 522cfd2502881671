import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ApprovalRequest } from '../src/modules/approvals';
import { type HttpReceiver, startHttpReceiver } from './support/http-receiver';
import { createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { type MailCatcher, startMailCatcher } from './support/mail-catcher';
import { startTestApp, type TestApp } from './support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a receiver of Warden's webhook does: recompute the HMAC over `t.body` and compare in constant time. */
function verifySignature(header: string, body: string, secret: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=') as [string, string]));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('approvals: open, list, decide, wait, redeem, notify (seed 001)', () => {
  let warden: TestApp;
  let mail: MailCatcher;
  let receiver: HttpReceiver;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };
  let agent: { id: string; secret: string };
  let otherAgent: { id: string; secret: string };

  const mint = async (owner: TestOrg, name: string) => {
    const res = await warden.request.post('/api/v1/agents').set('X-API-Key', owner.key).send({ name }).expect(201);
    return { id: res.body.id as string, secret: res.body.agent_secret as string };
  };
  const open = (fields: Partial<ApprovalRequest> = {}) =>
    warden.services.approvals.open({
      orgId: org.id,
      agentId: agent.id,
      keyId: null,
      action: 'payments.refund',
      method: 'post',
      path: '/v1/refunds',
      costMicros: 250_000,
      policyId: 'pol_test1',
      policyVersion: 3,
      requestId: null,
      ...fields,
    });
  const lapse = (id: string) =>
    warden.database.dataSource.query(`UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
  const storedStatus = async (id: string) =>
    (await warden.database.dataSource.query(`SELECT status FROM approvals WHERE id = $1`, [id]))[0].status as string;

  before(async () => {
    mail = await startMailCatcher();
    receiver = await startHttpReceiver();
    warden = await startTestApp({
      config: {
        smtpUrl: mail.url,
        outbound: { allowedHosts: [`127.0.0.1:${receiver.port}`], timeoutMs: 2000, retryBaseMs: 10, caFile: undefined },
        approvals: { ttlMinutes: 15, maxWaits: 50, maxWaitsPerOrg: 2 },
      },
    });
    org = await createOrg(warden);
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
    agent = await mint(org, 'refund-bot');
    otherAgent = await mint(org, 'other-bot');
  });
  after(async () => {
    await warden.close();
    await receiver.close();
    await mail.close();
  });

  it('open makes a pending approval with seed 001 fields, expiring after APPROVAL_TTL_MINUTES', async () => {
    const approval = await open({ keyId: 'gwk_abc', requestId: 'req_1' });
    assert.match(approval.id, /^apr_[0-9a-z]{26}$/);
    const { id, created_at, expires_at, ...rest } = approval;
    assert.deepEqual(rest, {
      org_id: org.id,
      key: 'gwk_abc',
      agent_id: agent.id,
      action: 'payments.refund',
      method: 'POST',
      path: '/v1/refunds',
      cost_usd: 0.25,
      policy_id: 'pol_test1',
      policy_version: 3,
      status: 'pending',
      reason: null,
      decided_by: null,
      decided_at: null,
      used_at: null,
    });
    const ttl = Date.parse(expires_at) - Date.parse(created_at);
    assert.ok(Math.abs(ttl - 15 * 60_000) < 2000, `ttl ${ttl}`);
    const res = await warden.request.get(`/api/v1/approvals/${id}`).set(key).expect(200);
    assert.deepEqual(res.body, approval);
    assert.equal(await warden.services.approvals.pendingCount(other.id), 0);
  });

  it('GET /approvals lists newest first, filters by status and pages with a cursor', async () => {
    const opened = [await open(), await open(), await open()];
    await warden.request.post(`/api/v1/approvals/${opened[0]!.id}/deny`).set(key).expect(200);
    const first = await warden.request.get('/api/v1/approvals?status=pending&limit=2').set(key).expect(200);
    assert.equal(first.body.approvals.length, 2);
    assert.equal(first.body.has_more, true);
    assert.deepEqual(
      first.body.approvals.map((a: { id: string }) => a.id),
      [opened[2]!.id, opened[1]!.id],
    );
    const second = await warden.request
      .get(`/api/v1/approvals?status=pending&limit=2&cursor=${first.body.next_cursor}`)
      .set(key)
      .expect(200);
    assert.ok(second.body.approvals.every((a: { status: string }) => a.status === 'pending'));
    assert.ok(!second.body.approvals.some((a: { id: string }) => a.id === opened[0]!.id));
    const denied = await warden.request.get(`/api/v1/approvals?status=denied&org_id=${org.id}`).set(key).expect(200);
    assert.deepEqual(
      denied.body.approvals.map((a: { id: string }) => a.id),
      [opened[0]!.id],
    );
    const pending = await warden.services.approvals.listPending(org.id, 200);
    assert.equal(await warden.services.approvals.pendingCount(org.id), pending.length);
    assert.ok(pending.some((a) => a.id === opened[2]!.id) && !pending.some((a) => a.id === opened[0]!.id));
    await warden.request.get('/api/v1/approvals?cursor=bm90LWFuLWlk!').set(key).expect(400);
    await warden.request.get('/api/v1/approvals?status=maybe').set(key).expect(400);
  });

  it('POST approve: approved by the caller, window restarted, audited; a second decision is 409', async () => {
    const approval = await open();
    const res = await warden.request.post(`/api/v1/approvals/${approval.id}/approve`).set(key).send({ reason: 'ok by me' }).expect(200);
    assert.equal(res.body.status, 'approved');
    assert.equal(res.body.decided_by, org.keyId);
    assert.equal(res.body.reason, 'ok by me');
    assert.ok(Date.parse(res.body.decided_at) <= Date.parse(res.body.expires_at) - 14 * 60_000);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'approval.approved');
    assert.equal(event.resource_id, approval.id);
    assert.deepEqual([event.actor_type, event.actor_id], ['api_key', org.keyId]);
    const again = await warden.request.post(`/api/v1/approvals/${approval.id}/approve`).set(key).expect(409);
    assert.equal(again.body.code, 'APPROVAL_ALREADY_DECIDED');
    const deny = await warden.request.post(`/api/v1/approvals/${approval.id}/deny`).set(key).expect(409);
    assert.equal(deny.body.code, 'APPROVAL_ALREADY_DECIDED');
    assert.equal(await storedStatus(approval.id), 'approved');
  });

  it('POST deny: denied with the reason, by a logged-in admin, audited; unknown ids are 404 and bodies are checked', async () => {
    const admin = await createUserAndLogin(warden, org, 'deny-admin@example.com', 'admin');
    const approval = await open();
    const res = await warden.request
      .post(`/api/v1/approvals/${approval.id}/deny`)
      .set('Authorization', `Bearer ${admin.token}`)
      .send({ reason: 'Not during the freeze' })
      .expect(200);
    assert.deepEqual([res.body.status, res.body.reason, res.body.decided_by], ['denied', 'Not during the freeze', admin.id]);
    assert.equal((await theAuditEventOf(warden, res)).action, 'approval.denied');
    const missing = await warden.request.post('/api/v1/approvals/apr_doesnotexist/deny').set(key).expect(404);
    assert.equal(missing.body.code, 'APPROVAL_NOT_FOUND');
    await warden.request.post(`/api/v1/approvals/${approval.id}/deny`).set(key).send({ reason: 'x', extra: 1 }).expect(422);
    await warden.request
      .post(`/api/v1/approvals/${approval.id}/deny`)
      .set(key)
      .send({ reason: 'x'.repeat(501) })
      .expect(422);
    await warden.request.get('/api/v1/approvals/not-an-id').set(key).expect(400);
  });

  it('concurrent approvals and denials: exactly one decision wins, the rest are 409', async () => {
    const approval = await open();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => warden.request.post(`/api/v1/approvals/${approval.id}/${i % 2 ? 'approve' : 'deny'}`).set(key)),
    );
    const winners = results.filter((res) => res.status === 200);
    assert.equal(winners.length, 1);
    assert.ok(
      results.filter((res) => res.status !== 200).every((res) => res.status === 409 && res.body.code === 'APPROVAL_ALREADY_DECIDED'),
    );
    assert.equal(await storedStatus(approval.id), winners[0]!.body.status);
    const events = await warden.auditRows(`SELECT action FROM audit_events WHERE resource_id = $1`, [approval.id]);
    assert.equal(events.length, 1);
  });

  it('expiry: a pending approval past expires_at reads expired everywhere, cannot be decided or used, and is written so', async () => {
    const approval = await open();
    await lapse(approval.id);
    assert.equal(await storedStatus(approval.id), 'pending');
    const res = await warden.request.get(`/api/v1/approvals/${approval.id}`).set(key).expect(200);
    assert.equal(res.body.status, 'expired');
    assert.equal(await storedStatus(approval.id), 'expired');
    const listed = await warden.request.get('/api/v1/approvals?status=expired').set(key).expect(200);
    assert.ok(listed.body.approvals.some((a: { id: string }) => a.id === approval.id));
    const pending = await warden.request.get('/api/v1/approvals?status=pending&limit=200').set(key).expect(200);
    assert.ok(!pending.body.approvals.some((a: { id: string }) => a.id === approval.id));

    const unread = await open();
    await lapse(unread.id);
    const refused = await warden.request.post(`/api/v1/approvals/${unread.id}/approve`).set(key).expect(409);
    assert.equal(refused.body.code, 'APPROVAL_EXPIRED');
    assert.ok(!(await warden.services.approvals.listPending(org.id, 200)).some((a) => a.id === unread.id));

    // An approved approval not used within its window lapses too.
    const approved = await open();
    await warden.request.post(`/api/v1/approvals/${approved.id}/approve`).set(key).expect(200);
    await lapse(approved.id);
    const redeem = await warden.services.approvals.redeem({
      approvalId: approved.id,
      orgId: org.id,
      agentId: agent.id,
      keyId: null,
      method: 'POST',
      path: '/v1/refunds',
      costMicros: 250_000,
    });
    assert.deepEqual(redeem, { ok: false, reason: 'expired' });
  });

  it('redeem: single use under 10 concurrent redemptions; the rest see used', async () => {
    const approval = await open();
    await warden.request.post(`/api/v1/approvals/${approval.id}/approve`).set(key).expect(200);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        warden.services.approvals.redeem({
          approvalId: approval.id,
          orgId: org.id,
          agentId: agent.id,
          keyId: null,
          method: 'POST',
          path: '/v1/refunds',
          costMicros: 250_000,
        }),
      ),
    );
    const wins = results.filter((result) => result.ok);
    assert.equal(wins.length, 1);
    assert.ok(results.filter((result) => !result.ok).every((result) => !result.ok && result.reason === 'used'));
    const used = wins[0]!.ok ? wins[0]!.approval : undefined;
    assert.equal(used?.status, 'used');
    assert.ok(used?.used_at);
    const res = await warden.request.get(`/api/v1/approvals/${approval.id}`).set(key).expect(200);
    assert.equal(res.body.status, 'used');
  });

  it('redeem: only the same agent, method and path, at no more than the approved cost; pending, denied and unknown say so', async () => {
    const approval = await open();
    const call = {
      approvalId: approval.id,
      orgId: org.id,
      agentId: agent.id,
      keyId: null as string | null,
      method: 'POST',
      path: '/v1/refunds',
      costMicros: 250_000,
    };
    assert.deepEqual(await warden.services.approvals.redeem(call), { ok: false, reason: 'pending' });
    await warden.request.post(`/api/v1/approvals/${approval.id}/approve`).set(key).expect(200);
    const mismatches = [
      { path: '/v1/refunds/all' },
      { costMicros: 250_001 },
      { agentId: otherAgent.id },
      { method: 'DELETE' },
      { keyId: 'gwk_other' },
    ];
    for (const mismatch of mismatches) {
      assert.deepEqual(
        await warden.services.approvals.redeem({ ...call, ...mismatch }),
        { ok: false, reason: 'mismatch' },
        JSON.stringify(mismatch),
      );
    }
    assert.deepEqual(await warden.services.approvals.redeem({ ...call, orgId: other.id }), { ok: false, reason: 'not_found' });
    assert.deepEqual(await warden.services.approvals.redeem({ ...call, approvalId: 'apr_nothing' }), { ok: false, reason: 'not_found' });
    // Cheaper than approved is fine, and the method matches whatever its case.
    const cheaper = await warden.services.approvals.redeem({ ...call, method: 'post', costMicros: 100_000 });
    assert.equal(cheaper.ok, true);

    const denied = await open();
    await warden.request.post(`/api/v1/approvals/${denied.id}/deny`).set(key).expect(200);
    assert.deepEqual(await warden.services.approvals.redeem({ ...call, approvalId: denied.id }), { ok: false, reason: 'denied' });
  });

  it('GET ?wait returns as soon as a decision is made, well before the wait ends; the asking agent waits with its secret', async () => {
    const approval = await open();
    const started = Date.now();
    const waiting = warden.request.get(`/api/v1/approvals/${approval.id}?wait=20`).set('X-Agent-Secret', agent.secret);
    await sleep(300);
    await warden.request.post(`/api/v1/approvals/${approval.id}/approve`).set(key).expect(200);
    const res = await waiting.expect(200);
    const took = Date.now() - started;
    assert.equal(res.body.status, 'approved');
    assert.ok(took < 5000, `took ${took} ms`);
  });

  it('GET ?wait is woken by a decision another Warden instance makes (NOTIFY on Postgres, polling on PGlite)', async () => {
    const second = await startTestApp({ database: warden.database });
    try {
      const approval = await open();
      const started = Date.now();
      const waiting = warden.request.get(`/api/v1/approvals/${approval.id}?wait=20`).set(key);
      await sleep(300);
      await second.request.post(`/api/v1/approvals/${approval.id}/deny`).set(key).expect(200);
      const res = await waiting.expect(200);
      const took = Date.now() - started;
      assert.equal(res.body.status, 'denied');
      // Well under the 5 s safety re-read: the announcement woke it.
      assert.ok(took < 2500, `took ${took} ms`);
    } finally {
      await second.close();
    }
  });

  it('GET ?wait on a pending approval nobody decides answers it still pending once the wait ends', async () => {
    const approval = await open();
    const started = Date.now();
    const res = await warden.request.get(`/api/v1/approvals/${approval.id}?wait=1`).set(key).expect(200);
    const took = Date.now() - started;
    assert.equal(res.body.status, 'pending');
    assert.ok(took >= 950 && took < 4000, `took ${took} ms`);
    await warden.request.get(`/api/v1/approvals/${approval.id}?wait=31`).set(key).expect(400);
  });

  it('waits are bounded per org (429 with Retry-After), and a client that hangs up gives its slot back at once', async () => {
    const approval = await open();
    const url = `/api/v1/approvals/${approval.id}?wait=20`;
    // Two clients that hang up after 300 ms, long before their 20 s wait would end.
    const hangUps = [0, 1].map(() =>
      warden.request
        .get(url)
        .set(key)
        .timeout(300)
        .then(
          () => assert.fail('the wait should not have answered'),
          (error: { timeout?: number }) => assert.ok(error.timeout),
        ),
    );
    await sleep(100);
    const refused = await warden.request.get(url).set(key).expect(429);
    assert.equal(refused.body.code, 'APPROVAL_WAITS_EXHAUSTED');
    assert.equal(refused.headers['retry-after'], '1');
    // A read without wait holds no slot.
    await warden.request.get(`/api/v1/approvals/${approval.id}`).set(key).expect(200);
    await Promise.all(hangUps);
    await sleep(200);
    const again = await Promise.all([0, 1].map(() => warden.request.get(`/api/v1/approvals/${approval.id}?wait=1`).set(key)));
    assert.deepEqual(
      again.map((res) => res.status),
      [200, 200],
    );
    // An agent holds at most a quarter of its org's slots (here one): it cannot keep the people from waiting.
    const own = await open();
    const agentWait = warden.request.get(`/api/v1/approvals/${own.id}?wait=1`).set('X-Agent-Secret', agent.secret);
    const agentWaitDone = agentWait.then((res) => res.status);
    await sleep(100);
    const second = await warden.request.get(`/api/v1/approvals/${own.id}?wait=1`).set('X-Agent-Secret', agent.secret).expect(429);
    assert.equal(second.body.code, 'APPROVAL_WAITS_EXHAUSTED');
    await warden.request.get(`/api/v1/approvals/${own.id}?wait=1`).set(key).expect(200);
    assert.equal(await agentWaitDone, 200);
  });

  it("an agent's credential never decides, and reads only its own approvals; a viewer reads but cannot decide", async () => {
    const approval = await open();
    for (const verb of ['approve', 'deny']) {
      const res = await warden.request.post(`/api/v1/approvals/${approval.id}/${verb}`).set('X-Agent-Secret', agent.secret).expect(403);
      assert.equal(res.body.code, 'CREDENTIAL_NOT_ACCEPTED');
      const bearer = await warden.request
        .post(`/api/v1/approvals/${approval.id}/${verb}`)
        .set('Authorization', `Bearer ${agent.secret}`)
        .expect(403);
      assert.equal(bearer.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    }
    const own = await warden.request.get(`/api/v1/approvals/${approval.id}`).set('X-Agent-Secret', agent.secret).expect(200);
    assert.equal(own.body.status, 'pending');
    const notTheirs = await warden.request.get(`/api/v1/approvals/${approval.id}`).set('X-Agent-Secret', otherAgent.secret).expect(404);
    assert.equal(notTheirs.body.code, 'APPROVAL_NOT_FOUND');
    await warden.request.get('/api/v1/approvals').set('X-Agent-Secret', agent.secret).expect(403);

    const viewer = await createUserAndLogin(warden, org, 'viewer@example.com', 'viewer');
    const asViewer = { Authorization: `Bearer ${viewer.token}` };
    await warden.request.get(`/api/v1/approvals/${approval.id}`).set(asViewer).expect(200);
    await warden.request.get('/api/v1/approvals').set(asViewer).expect(200);
    for (const verb of ['approve', 'deny']) {
      const res = await warden.request.post(`/api/v1/approvals/${approval.id}/${verb}`).set(asViewer).expect(403);
      assert.equal(res.body.message, "This operation needs the 'approval.decide' permission.");
    }
    await warden.request.get('/api/v1/approval-settings').set(asViewer).expect(403);
    await warden.request.put('/api/v1/approval-settings').set(asViewer).send({ webhook_url: null }).expect(403);
    for (const [method, path] of [
      ['get', '/api/v1/approvals'],
      ['get', `/api/v1/approvals/${approval.id}`],
      ['post', `/api/v1/approvals/${approval.id}/approve`],
      ['post', `/api/v1/approvals/${approval.id}/deny`],
      ['get', '/api/v1/approval-settings'],
      ['put', '/api/v1/approval-settings'],
    ] as const) {
      const res = await warden.request[method](path).expect(401);
      assert.equal(res.body.code, 'CREDENTIAL_MISSING');
    }
    const reader = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'org only', permissions: ['org.read'] })
      .expect(201);
    const noRead = await warden.request.get(`/api/v1/approvals/${approval.id}`).set('X-API-Key', reader.body.key).expect(403);
    assert.equal(noRead.body.message, "This operation needs the 'approval.read' permission.");
    assert.equal(await storedStatus(approval.id), 'pending');
  });

  it("tenant isolation: another org's credential finds none of this org's approvals (404), and lists only its own", async () => {
    const approval = await open();
    const theirs = { 'X-API-Key': other.key };
    for (const [method, path] of [
      ['get', ''],
      ['get', '?wait=1'],
      ['post', '/approve'],
      ['post', '/deny'],
    ] as const) {
      const res = await warden.request[method](`/api/v1/approvals/${approval.id}${path}`).set(theirs).expect(404);
      assert.equal(res.body.code, 'APPROVAL_NOT_FOUND');
    }
    const list = await warden.request.get('/api/v1/approvals').set(theirs).expect(200);
    assert.deepEqual(list.body.approvals, []);
    await warden.request.get(`/api/v1/approvals?org_id=${org.id}`).set(theirs).expect(404);
    const otherOrgAgent = await mint(other, 'their-bot');
    await warden.request.get(`/api/v1/approvals/${approval.id}`).set('X-Agent-Secret', otherOrgAgent.secret).expect(404);
    assert.equal(await storedStatus(approval.id), 'pending');
  });

  it('approval settings: URLs checked against the outbound policy (422), the signing secret shown once, the Slack path never', async () => {
    const empty = await warden.request.get('/api/v1/approval-settings').set(key).expect(200);
    assert.deepEqual(empty.body, {
      org_id: org.id,
      slack_webhook_url: null,
      webhook_url: null,
      webhook_secret_version: 0,
      secret: null,
      updated_at: null,
    });
    for (const url of ['http://10.0.0.1/hook', 'https://127.0.0.1:1/hook', 'ftp://example.com/x', 'not a url']) {
      const res = await warden.request.put('/api/v1/approval-settings').set(key).send({ webhook_url: url }).expect(422);
      assert.equal(res.body.code, 'DESTINATION_NOT_ALLOWED', url);
    }
    await warden.request.put('/api/v1/approval-settings').set(key).send({ webhook_url: 'https://x.example', other: 1 }).expect(422);
    const set = await warden.request
      .put('/api/v1/approval-settings')
      .set(key)
      .send({ slack_webhook_url: receiver.url('/slack/T000/B000/s3cr3t'), webhook_url: receiver.url('/hook?token=s3cr3t') })
      .expect(200);
    assert.equal(set.body.slack_webhook_url, `http://127.0.0.1:${receiver.port}/…`);
    assert.equal(set.body.webhook_url, receiver.url('/hook?…'), 'a token in the query string is not shown');
    assert.equal(set.body.webhook_secret_version, 1);
    assert.match(set.body.secret, /^whsec_[0-9a-f]{64}$/);
    const event = await theAuditEventOf(warden, set, [set.body.secret, 's3cr3t']);
    assert.equal(event.action, 'approval_settings.updated');
    const shown = await warden.request.get('/api/v1/approval-settings').set(key).expect(200);
    assert.equal(shown.body.secret, null);
    assert.equal(shown.body.webhook_secret_version, 1);
    // Leaving a field out keeps it; a new webhook URL gets a new secret.
    const slackOnly = await warden.request.put('/api/v1/approval-settings').set(key).send({ slack_webhook_url: null }).expect(200);
    assert.deepEqual(
      [slackOnly.body.slack_webhook_url, slackOnly.body.webhook_url, slackOnly.body.secret],
      [null, receiver.url('/hook?…'), null],
    );
    const rotated = await warden.request
      .put('/api/v1/approval-settings')
      .set(key)
      .send({ webhook_url: receiver.url('/hook') })
      .expect(200);
    assert.equal(rotated.body.webhook_secret_version, 2);
    assert.notEqual(rotated.body.secret, set.body.secret);
    const theirs = await warden.request.get('/api/v1/approval-settings').set('X-API-Key', other.key).expect(200);
    assert.equal(theirs.body.webhook_url, null);
  });

  it('notifications: after commit, approvers get mail, Slack a message and the webhook a signed delivery; none when it rolls back', async () => {
    await createUserAndLogin(warden, org, 'approver@example.com', 'admin');
    await createUserAndLogin(warden, org, 'onlooker@example.com', 'viewer');
    const set = await warden.request
      .put('/api/v1/approval-settings')
      .set(key)
      .send({ slack_webhook_url: receiver.url('/slack/T000/B000/s3cr3t'), webhook_url: receiver.url('/hook') })
      .expect(200);
    receiver.reset();
    const mailsBefore = mail.messages.length;

    // Opened inside a transaction that rolls back: nobody hears of it.
    await assert.rejects(
      warden.services.db.transaction(async () => {
        await open();
        throw new Error('the governed call failed');
      }),
    );
    await sleep(300);
    assert.equal(receiver.requests.length, 0);
    assert.equal(mail.messages.length, mailsBefore);

    // The action is the agent's text: Slack must show it, not ping the channel or render its link.
    const approval = await open({ action: 'payments.payout <!channel> <https://evil.example|approve>' });
    const message = await mail.next('approver@example.com');
    assert.match(message.text, new RegExp(approval.id));
    assert.match(message.raw, /Subject: Approval needed: payments.payout/);
    for (let i = 0; i < 50 && receiver.requests.length < 2; i++) await sleep(50);
    const slack = receiver.requests.find((request) => request.path.startsWith('/slack/'));
    const hook = receiver.requests.find((request) => request.path === '/hook');
    assert.ok(slack && hook);
    assert.match(JSON.parse(slack.body).text, new RegExp(approval.id));
    assert.ok(JSON.parse(slack.body).text.includes('&lt;!channel&gt; &lt;https://evil.example|approve&gt;'));
    assert.ok(!JSON.parse(slack.body).text.includes('<!channel>'));
    assert.deepEqual(JSON.parse(hook.body), { type: 'approval.requested', approval });
    const signature = String(hook.headers['warden-signature']);
    assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.ok(verifySignature(signature, hook.body, set.body.secret));
    assert.ok(!verifySignature(signature, `${hook.body} `, set.body.secret));
    assert.ok(Math.abs(Number(/t=(\d+)/.exec(signature)![1]) - Date.now() / 1000) < 60);
    // Only holders of approval.decide are mailed.
    await sleep(200);
    const recipients = mail.messages.slice(mailsBefore).flatMap((m) => m.to);
    assert.ok(recipients.includes('approver@example.com'));
    assert.ok(!recipients.includes('onlooker@example.com'));
    assert.ok(!recipients.includes('viewer@example.com'));

    // A receiver that fails does not fail the opening; the outbound client retries it.
    receiver.reset();
    receiver.reply(
      (res) => res.writeHead(500).end(),
      (res) => res.writeHead(500).end(),
      (res) => res.writeHead(500).end(),
    );
    const stillOpened = await open();
    assert.equal(stillOpened.status, 'pending');
  });
});
