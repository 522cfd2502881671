import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import { chainHash } from '../src/modules/audit/audit-service';
import publishedSpec from '../generated/openapi.json';
import { adminLogin, assertNoSecretAtRest, createOrg, createUserAndLogin, PASSWORD, type TestOrg } from './support/identity';
import { startMailCatcher } from './support/mail-catcher';
import { silence, startHttpReceiver, status, type HttpReceiver } from './support/http-receiver';
import { startTestApp, type TestApp } from './support/test-app';

/** Receivers on 127.0.0.1, short timeouts, and the test CA of the https receiver trusted. */
const TEST_CA = join(__dirname, 'fixtures', 'tls', 'self-signed-cert.pem');
const OUTBOUND = { allowedHosts: ['127.0.0.1'], timeoutMs: 400, retryBaseMs: 10, caFile: TEST_CA };
const DD_KEY = 'dd-test-api-key-0123456789abcdef';
const HEC_TOKEN = 'splunk-hec-token-0123456789abcdef';
const ROUTING_KEY = 'pd-routing-key-0123456789abcdefgh';

interface ExportedEvent {
  id: string;
  seq: number;
  action: string;
  workspace_id: string | null;
  prev_hash: string;
  hash: string;
  [field: string]: unknown;
}

/** An exported event still verifies against its own hashes: SIEM copies can be re-checked. */
function assertVerifies(event: ExportedEvent): void {
  const { prev_hash: prevHash, hash, ...fields } = event;
  assert.equal(chainHash(Buffer.from(prevHash, 'hex'), fields as never).toString('hex'), hash);
}

describe('SIEM exports: Datadog, Splunk HEC, PagerDuty over real HTTP (issue 5)', () => {
  let warden: TestApp;
  let receiver: HttpReceiver;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  let workspaceId: string;
  const siemEvents = (orgId: string) =>
    warden.database.dataSource.query(`SELECT * FROM audit_events WHERE org_id = $1 AND action = 'audit.siem_exported' ORDER BY seq`, [orgId]);

  before(async () => {
    receiver = await startHttpReceiver();
    const defaults = loadConfig({});
    warden = await startTestApp({
      config: { outbound: OUTBOUND, siem: { ...defaults.siem } },
    });
    org = await createOrg(warden, 'professional');
    key = { 'X-API-Key': org.key };
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Prod' }).expect(201);
    workspaceId = ws.body.id;
    for (const name of ['alpha', 'beta', 'gamma']) {
      await warden.request.post(`/api/v1/workspaces/${workspaceId}/environments`).set(key).send({ name }).expect(201);
    }
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Other' }).expect(201);
  });
  beforeEach(() => receiver.reset());
  after(async () => {
    await receiver.close();
    await warden.close();
  });

  it('Datadog: logs v2 batch with DD-API-KEY, ddsource/ddtags/service, each message the event with its hashes; counts sent', async () => {
    const res = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set(key)
      .send({
        organization_id: org.id,
        api_key: DD_KEY,
        intake_url: receiver.url('/api/v2/logs'),
        service: 'sekuire.audit',
        source: 'sekuire',
        tags: ['env:prod', 'team:secops'],
      })
      .expect(200);
    assert.equal(res.body.vendor, 'datadog');
    assert.equal(res.body.selected, 5);
    assert.deepEqual([res.body.sent, res.body.failed, res.body.batches, res.body.errors], [5, 0, 1, []]);
    assert.equal(res.body.intake_url, receiver.url('/api/v2/logs'));
    assert.equal(receiver.requests.length, 1);
    const [request] = receiver.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, '/api/v2/logs');
    assert.equal(request!.headers['dd-api-key'], DD_KEY);
    assert.match(String(request!.headers['content-type']), /^application\/json/);
    const logs = JSON.parse(request!.body) as Array<Record<string, string>>;
    assert.equal(logs.length, 5);
    for (const log of logs) {
      assert.deepEqual([log.ddsource, log.ddtags, log.service, log.hostname, log.status], ['sekuire', 'env:prod,team:secops', 'sekuire.audit', 'warden', 'info']);
      const event = JSON.parse(log.message!) as ExportedEvent;
      assert.equal(log.date, event.occurred_at);
      assertVerifies(event);
    }
    const seqs = logs.map((log) => (JSON.parse(log.message!) as ExportedEvent).seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'oldest first');
    assert.deepEqual([res.body.first_seq, res.body.last_seq], [seqs[0], seqs[4]]);

    const [recorded] = await siemEvents(org.id);
    assert.equal(recorded.outcome, 'success');
    assert.equal(recorded.actor_id, org.keyId);
    assert.deepEqual(recorded.details, { vendor: 'datadog', intake_host: `127.0.0.1:${receiver.port}`, event_type: null, selected: 5, sent: 5, failed: 0 });
    await assertNoSecretAtRest(warden, [DD_KEY]);
  });

  it('filters by workspace and event type and sends the newest `limit` of them', async () => {
    const res = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set(key)
      .send({ workspace_id: workspaceId, event_type: 'environment.created', limit: 2, api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs') })
      .expect(200);
    assert.equal(res.body.selected, 2);
    const events = (JSON.parse(receiver.requests[0]!.body) as Array<{ message: string }>).map((log) => JSON.parse(log.message) as ExportedEvent);
    assert.deepEqual(events.map((event) => [event.action, event.workspace_id]), [['environment.created', workspaceId], ['environment.created', workspaceId]]);
    const all = await warden.database.dataSource.query(
      `SELECT seq FROM audit_events WHERE org_id = $1 AND action = 'environment.created' ORDER BY seq DESC LIMIT 2`,
      [org.id],
    );
    assert.deepEqual(events.map((event) => event.seq), all.map((row: { seq: string }) => Number(row.seq)).reverse());
  });

  it('Splunk HEC: Authorization: Splunk <token>, one HEC event object per audit event, batches of at most 500', async () => {
    await Promise.all(
      Array.from({ length: 520 }, (_, i) =>
        warden.services.audit.record({ orgId: org.id, actor: { type: 'system', id: null }, action: 'auth.login_failed', outcome: 'failure', details: { n: i } }),
      ),
    );
    const res = await warden.request
      .post('/api/v1/audit-logs/siem/splunk/export')
      .set(key)
      .send({
        event_type: 'auth.login_failed',
        limit: 510,
        hec_token: HEC_TOKEN,
        intake_url: receiver.url('/services/collector'),
        source: 'sekuire:audit',
        sourcetype: '_json',
        host: 'api-node-1',
        index: 'main',
        tags: ['env:prod'],
      })
      .expect(200);
    assert.deepEqual([res.body.selected, res.body.sent, res.body.batches], [510, 510, 2]);
    assert.equal(receiver.requests.length, 2);
    assert.equal(receiver.requests[0]!.headers.authorization, `Splunk ${HEC_TOKEN}`);
    const objects = receiver.requests.flatMap((request) => request.body.split('\n').map((line) => JSON.parse(line)));
    assert.deepEqual(receiver.requests.map((request) => request.body.split('\n').length), [500, 10]);
    const first = objects[0];
    assert.deepEqual([first.host, first.source, first.sourcetype, first.index, first.fields], ['api-node-1', 'sekuire:audit', '_json', 'main', { tags: ['env:prod'] }]);
    assert.equal(first.time, Date.parse(first.event.occurred_at) / 1000);
    assert.ok(objects.every((object) => object.event.action === 'auth.login_failed'));
    for (const object of objects.slice(0, 20)) assertVerifies(object.event);
    await assertNoSecretAtRest(warden, [HEC_TOKEN]);
  });

  it('PagerDuty: Events API v2, one event per request, routing key and dedup key per event; resolve sends no payload', async () => {
    const body = {
      workspace_id: workspaceId,
      event_type: 'environment.created',
      limit: 3,
      routing_key: ROUTING_KEY,
      intake_url: receiver.url('/v2/enqueue'),
      event_action: 'trigger',
      source: 'sekuire.audit',
      severity: 'warning',
      component: 'agent-control-plane',
      group: 'governance',
      class: 'audit',
      dedup_key_prefix: 'sekuire-audit',
      tags: ['env:prod'],
    };
    const res = await warden.request.post('/api/v1/audit-logs/siem/pagerduty/export').set(key).send(body).expect(200);
    assert.deepEqual([res.body.selected, res.body.sent, res.body.batches], [3, 3, 3]);
    const sent = receiver.requests.map((request) => JSON.parse(request.body));
    for (const event of sent) {
      assert.equal(event.routing_key, ROUTING_KEY);
      assert.equal(event.event_action, 'trigger');
      assert.equal(event.dedup_key, `sekuire-audit-${event.payload.custom_details.id}`);
      assert.deepEqual(
        [event.payload.source, event.payload.severity, event.payload.component, event.payload.group, event.payload.class],
        ['sekuire.audit', 'warning', 'agent-control-plane', 'governance', 'audit'],
      );
      assert.match(event.payload.summary, /^Warden audit: environment\.created \(success\) on environment env_\w+ by api_key key_\w+$/);
      assert.equal(event.payload.timestamp, event.payload.custom_details.occurred_at);
      assert.deepEqual(event.payload.custom_details.tags, ['env:prod']);
      const { tags: _tags, ...custom } = event.payload.custom_details;
      assertVerifies(custom);
    }

    receiver.reset();
    await warden.request.post('/api/v1/audit-logs/siem/pagerduty/export').set(key).send({ ...body, event_action: 'resolve', limit: 1 }).expect(200);
    const resolve = JSON.parse(receiver.requests[0]!.body);
    assert.deepEqual(Object.keys(resolve).sort(), ['dedup_key', 'event_action', 'routing_key']);
    assert.equal(resolve.dedup_key, sent[2].dedup_key, 'resolve addresses the alert the newest event opened');
  });

  it('https: an intake whose certificate chains to a trusted CA (OUTBOUND_CA_FILE) receives the events', async () => {
    const received: Array<{ authorization: string | undefined; body: string }> = [];
    const tls = join(__dirname, 'fixtures', 'tls');
    const server = createHttpsServer({ cert: readFileSync(TEST_CA), key: readFileSync(join(tls, 'self-signed-key.pem')) }, (req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ authorization: req.headers.authorization, body });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await warden.request
        .post('/api/v1/audit-logs/siem/splunk/export')
        .set(key)
        .send({ hec_token: HEC_TOKEN, intake_url: `https://127.0.0.1:${port}/services/collector/event`, limit: 2 })
        .expect(200);
      assert.deepEqual([res.body.sent, res.body.intake_url], [2, `https://127.0.0.1:${port}/services/collector/event`]);
      assert.equal(received.length, 1);
      assert.equal(received[0]!.authorization, `Splunk ${HEC_TOKEN}`);
      assert.equal(received[0]!.body.split('\n').length, 2);
    } finally {
      server.close();
    }
  });

  it('retries 429 and 5xx, reports a batch that still fails, and is 502 when nothing was delivered', async () => {
    receiver.reply(status(503), status(429, { 'Retry-After': '0' }));
    const retried = await warden.request
      .post('/api/v1/audit-logs/siem/pagerduty/export')
      .set(key)
      .send({ event_type: 'environment.created', limit: 2, routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') })
      .expect(200);
    assert.deepEqual([retried.body.sent, retried.body.failed], [2, 0]);
    assert.equal(receiver.requests.length, 4, 'the first event took three attempts, the second one');

    receiver.reset();
    receiver.reply(status(202), status(400));
    const partial = await warden.request
      .post('/api/v1/audit-logs/siem/pagerduty/export')
      .set(key)
      .send({ event_type: 'environment.created', limit: 3, routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') })
      .expect(200);
    assert.deepEqual([partial.body.sent, partial.body.failed], [2, 1]);
    assert.deepEqual(partial.body.errors, [{ batch: 2, events: 1, attempts: 1, status: 400, reason: 'HTTP 400' }]);
    assert.equal((await siemEvents(org.id)).at(-1).outcome, 'failure');

    receiver.reset();
    receiver.reply(status(403));
    const refused = await warden.request
      .post('/api/v1/audit-logs/siem/pagerduty/export')
      .set(key)
      .send({ limit: 1, routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') })
      .expect(502);
    assert.match(refused.body.message, new RegExp(`accepted none of the 1 events: HTTP 403 from 127\\.0\\.0\\.1:${receiver.port}`));

    receiver.reset();
    receiver.reply(status(500), status(500), status(500));
    const failed = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set(key)
      .send({ api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs'), limit: 4 })
      .expect(502);
    assert.equal(failed.body.code, 'SIEM_DELIVERY_FAILED');
    assert.deepEqual(failed.body.details, [{ location: 'upstream', field: 'batch 1', message: 'HTTP 500 after 3 attempts', rule: 'delivery' }]);
    assert.equal(receiver.requests.length, 3);
    const last = (await siemEvents(org.id)).at(-1);
    assert.deepEqual([last.outcome, last.details.sent, last.details.failed], ['failure', 0, 4]);
  });

  it('an intake that never answers times out (per attempt) and the export is 502', async () => {
    receiver.reply(silence, silence, silence);
    const res = await warden.request
      .post('/api/v1/audit-logs/siem/splunk/export')
      .set(key)
      .send({ hec_token: HEC_TOKEN, intake_url: receiver.url('/services/collector'), limit: 1 })
      .expect(502);
    assert.match(res.body.message, /timed out after 400 ms/);
    assert.equal(receiver.requests.length, 3);
  });

  it('stops sending when the export\'s time is spent and reports the unsent batches as failed', async () => {
    const defaults = loadConfig({});
    const hurried = await startTestApp({
      database: warden.database,
      config: { outbound: OUTBOUND, siem: { ...defaults.siem, exportTimeoutMs: 1000 } },
    });
    receiver.reply(silence, silence, silence);
    const res = await hurried.request
      .post('/api/v1/audit-logs/siem/pagerduty/export')
      .set(key)
      .send({ event_type: 'environment.created', limit: 3, routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') })
      .expect(502);
    assert.deepEqual(
      res.body.details.map((detail: { field: string; message: string }) => [detail.field, detail.message]),
      [['batch 1', 'timed out after 400 ms after 3 attempts'], ['batch 2', "not sent: the export's 1000 ms were spent after 0 attempts"]],
    );
    assert.equal(receiver.requests.length, 3, 'only the first event was tried');
  });

  it('refuses destinations: private, loopback by name or in IPv6 form, metadata, plain http; a redirect to metadata is not followed', async () => {
    const tries: Array<[string, RegExp]> = [
      ['https://169.254.169.254/latest/meta-data/', /cloud metadata/],
      [`https://localhost:${receiver.port}/api/v2/logs`, /localhost resolves to .*loopback/],
      [`https://[::ffff:127.0.0.1]:${receiver.port}/`, /loopback/],
      [`https://[::1]:${receiver.port}/`, /loopback/],
      ['https://192.168.0.10/api/v2/logs', /private/],
      ['http://http-intake.logs.datadoghq.com/api/v2/logs', /must use https/],
    ];
    for (const [url, reason] of tries) {
      const res = await warden.request.post('/api/v1/audit-logs/siem/datadog/export').set(key).send({ api_key: DD_KEY, intake_url: url }).expect(422);
      assert.equal(res.body.code, 'DESTINATION_NOT_ALLOWED', url);
      assert.equal(res.body.details[0].field, 'intake_url');
      assert.match(res.body.message, reason, url);
    }
    assert.equal(receiver.requests.length, 0);

    receiver.reply(status(307, { Location: 'http://169.254.169.254/latest/meta-data/' }));
    const redirected = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set(key)
      .send({ api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs'), limit: 1 })
      .expect(502);
    assert.match(redirected.body.message, /HTTP 307 redirect not followed/);
    assert.equal(receiver.requests.length, 1);
  });

  it('the spec declares each export\'s audit event (x-audit, recorded by the service), and every outcome writes exactly one: sent, refused, unresolvable, nothing delivered', async () => {
    const paths = (publishedSpec as unknown as { paths: Record<string, { post?: Record<string, unknown> }> }).paths;
    for (const vendor of ['datadog', 'splunk', 'pagerduty']) {
      const operation = paths[`/api/v1/audit-logs/siem/${vendor}/export`]!.post!;
      assert.deepEqual([operation['x-audit'], operation['x-audit-recorded-by']], ['audit.siem_exported', 'service'], vendor);
    }
    const own = await createOrg(warden, 'professional', 'One event each');
    await warden.request.post(`/api/v1/orgs/${own.id}/workspaces`).set('X-API-Key', own.key).send({ name: 'W' }).expect(201);
    const exportAs = (requestId: string, body: Record<string, unknown>, expected: number) =>
      warden.request.post('/api/v1/audit-logs/siem/datadog/export').set('X-API-Key', own.key).set('X-Request-Id', requestId).send({ api_key: DD_KEY, ...body }).expect(expected);
    const recorded = async (requestId: string): Promise<Array<[string, Record<string, unknown>]>> =>
      (await siemEvents(own.id)).filter((event: { request_id: string }) => event.request_id === requestId).map((event: { outcome: string; details: Record<string, unknown> }) => [event.outcome, event.details]);

    await exportAs('siem-sent', { intake_url: receiver.url('/api/v2/logs') }, 200);
    assert.deepEqual(await recorded('siem-sent'), [['success', { vendor: 'datadog', intake_host: `127.0.0.1:${receiver.port}`, event_type: null, selected: 1, sent: 1, failed: 0 }]]);
    receiver.reply(status(500), status(500), status(500));
    await exportAs('siem-nothing', { intake_url: receiver.url('/api/v2/logs'), limit: 1 }, 502);
    assert.deepEqual((await recorded('siem-nothing')).map(([outcome]) => outcome), ['failure']);
    await exportAs('siem-refused', { intake_url: 'https://10.0.0.1/api/v2/logs' }, 422);
    assert.deepEqual(await recorded('siem-refused'), [['denied', { vendor: 'datadog', intake_host: '10.0.0.1', event_type: null, selected: 0, sent: 0, failed: 0, error: 'DESTINATION_NOT_ALLOWED' }]]);
    const unresolvable = await exportAs('siem-unresolvable', { intake_url: 'https://nowhere.invalid/api/v2/logs' }, 502);
    assert.equal(unresolvable.body.code, 'DESTINATION_UNRESOLVABLE');
    assert.deepEqual(await recorded('siem-unresolvable'), [['failure', { vendor: 'datadog', intake_host: 'nowhere.invalid', event_type: null, selected: 0, sent: 0, failed: 0, error: 'DESTINATION_UNRESOLVABLE' }]]);
  });

  it('a platform admin session exports the platform chain (events of no org); an org credential naming it gets 403', async () => {
    const refused = await warden.request.post('/api/v1/audit-logs/siem/splunk/export').set(key).send({ organization_id: 'platform', hec_token: HEC_TOKEN, intake_url: receiver.url('/services/collector') }).expect(403);
    assert.equal(refused.body.code, 'PLATFORM_ADMIN_REQUIRED');

    const mail = await startMailCatcher();
    const defaults = loadConfig({});
    const platform = await startTestApp({
      database: warden.database,
      config: { outbound: OUTBOUND, siem: { ...defaults.siem }, smtpUrl: mail.url, platformAdminEmails: ['siem-admin@example.com'] },
    });
    try {
      await platform.request.post('/api/v1/auth/login').send({ email: 'nobody-siem@example.com', password: PASSWORD }).expect(401);
      const admin = { Authorization: `Bearer ${await adminLogin(platform, mail, 'siem-admin@example.com')}` };
      const res = await platform.request
        .post('/api/v1/audit-logs/siem/splunk/export')
        .set(admin)
        .send({ organization_id: 'platform', event_type: 'auth.login_failed', hec_token: HEC_TOKEN, intake_url: receiver.url('/services/collector') })
        .expect(200);
      assert.equal(res.body.organization_id, 'platform');
      const sent = receiver.requests.flatMap((request) => request.body.split('\n').map((line) => JSON.parse(line).event as ExportedEvent));
      assert.ok(sent.length > 0 && sent.every((event) => event.org_id === 'platform' && event.action === 'auth.login_failed'));
      assert.ok(sent.some((event) => event.actor_id === 'nobody-siem@example.com'));
      sent.forEach(assertVerifies);
      const [{ n }] = await platform.database.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE org_id = 'platform' AND action = 'audit.siem_exported' AND actor_id = 'siem-admin@example.com'`);
      assert.equal(n, 1, 'the export is recorded in the platform chain, by the admin');
    } finally {
      await platform.close();
      await mail.close();
    }
  });

  it('credentials: the body, else the server configuration, which is never sent to an intake the caller chose', async () => {
    const missing = await warden.request.post('/api/v1/audit-logs/siem/datadog/export').set(key).send({ intake_url: receiver.url('/x') }).expect(422);
    assert.deepEqual([missing.body.code, missing.body.details[0].field], ['SIEM_CREDENTIAL_REQUIRED', 'api_key']);
    const noIntake = await warden.request.post('/api/v1/audit-logs/siem/splunk/export').set(key).send({ hec_token: HEC_TOKEN }).expect(422);
    assert.deepEqual([noIntake.body.code, noIntake.body.details[0].field], ['SIEM_INTAKE_REQUIRED', 'intake_url']);

    const defaults = loadConfig({});
    const configured = await startTestApp({
      database: warden.database,
      config: {
        outbound: OUTBOUND,
        siem: { ...defaults.siem, datadogApiKey: DD_KEY, datadogIntakeUrl: receiver.url('/configured/logs'), pagerdutyRoutingKey: ROUTING_KEY, pagerdutyEventsUrl: receiver.url('/configured/enqueue') },
      },
    });
    await configured.request.post('/api/v1/audit-logs/siem/datadog/export').set(key).send({ limit: 1 }).expect(200);
    assert.equal(receiver.requests[0]!.path, '/configured/logs');
    assert.equal(receiver.requests[0]!.headers['dd-api-key'], DD_KEY);
    await configured.request.post('/api/v1/audit-logs/siem/pagerduty/export').set(key).send({ limit: 1, intake_url: receiver.url('/configured/enqueue') }).expect(200);
    assert.equal(JSON.parse(receiver.requests[1]!.body).routing_key, ROUTING_KEY);

    const elsewhere = await configured.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set(key)
      .send({ limit: 1, intake_url: receiver.url('/attacker/logs') })
      .expect(422);
    assert.equal(elsewhere.body.code, 'SIEM_CREDENTIAL_REQUIRED');
    assert.match(elsewhere.body.message, /custom intake_url needs its own api_key/);
    assert.equal(receiver.requests.length, 2, 'nothing went to the other intake');
  });

  it('needs Professional (402 with the seed body), audit.export (403 for a viewer), and the caller\'s own org (404)', async () => {
    const starter = await createOrg(warden, 'starter', 'Starter SIEM');
    const other = await createOrg(warden, 'enterprise', 'Other SIEM');
    const bodies = {
      datadog: { api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs') },
      splunk: { hec_token: HEC_TOKEN, intake_url: receiver.url('/services/collector') },
      pagerduty: { routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') },
    };
    for (const [vendor, body] of Object.entries(bodies)) {
      const gated = await warden.request.post(`/api/v1/audit-logs/siem/${vendor}/export`).set('X-API-Key', starter.key).send(body).expect(402);
      assert.deepEqual([gated.body.error, gated.body.code, gated.body.required_plan], ['plan_limit_exceeded', 'SIEM_EXPORT_REQUIRES_UPGRADE', 'professional']);
      assert.equal(typeof gated.body.upgrade_url, 'string');
      const foreign = await warden.request.post(`/api/v1/audit-logs/siem/${vendor}/export`).set(key).send({ ...body, organization_id: other.id }).expect(404);
      assert.equal(foreign.body.error, 'not_found');
    }

    const viewer = await createUserAndLogin(warden, org, 'siem-viewer@example.com', 'viewer');
    const refused = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set('Authorization', `Bearer ${viewer.token}`)
      .send({ api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs') })
      .expect(403);
    assert.match(refused.body.message, /audit\.export/);

    await warden.request.post(`/api/v1/orgs/${other.id}/workspaces`).set('X-API-Key', other.key).send({ name: 'Theirs' }).expect(201);
    const leaked = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set('X-API-Key', other.key)
      .send({ api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs'), limit: 1000 })
      .expect(200);
    const exported = (JSON.parse(receiver.requests[0]!.body) as Array<{ message: string }>).map((log) => JSON.parse(log.message) as ExportedEvent);
    assert.equal(leaked.body.selected, exported.length);
    assert.ok(exported.length > 0);
    assert.ok(exported.every((event) => event.org_id === other.id), "another org's export holds none of this org's events");
    assert.equal(receiver.requests.length, 1);
  });

  it('counts exports per org against the siem_export rate limit (429 with Retry-After); another org keeps its own count', async () => {
    const defaults = loadConfig({});
    const strict = await startTestApp({
      database: warden.database,
      config: {
        outbound: OUTBOUND,
        siem: { ...defaults.siem },
        rateLimits: { siem_export: { perIp: { limit: 100, windowSeconds: 3600 }, perOrg: { limit: 2, windowSeconds: 3600 } } },
      },
    });
    const limited = await createOrg(strict, 'professional', 'Rate limited');
    const body = { api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs') };
    for (let i = 0; i < 2; i++) await strict.request.post('/api/v1/audit-logs/siem/datadog/export').set('X-API-Key', limited.key).send(body).expect(200);
    const refused = await strict.request.post('/api/v1/audit-logs/siem/splunk/export').set('X-API-Key', limited.key).send({ hec_token: HEC_TOKEN, intake_url: body.intake_url }).expect(429);
    assert.equal(refused.body.code, 'RATE_LIMITED');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const other = await createOrg(strict, 'professional', 'Not limited');
    await strict.request.post('/api/v1/audit-logs/siem/pagerduty/export').set('X-API-Key', other.key).send({ routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') }).expect(200);
  });

  it('rejects bodies that do not match the schema (unknown field, limit over the vendor maximum, bad tag) with 422', async () => {
    const cases: Array<[string, object, string]> = [
      ['datadog', { api_key: DD_KEY, colour: 'red' }, 'colour'],
      ['pagerduty', { routing_key: ROUTING_KEY, limit: 101 }, 'limit'],
      ['splunk', { hec_token: HEC_TOKEN, tags: ['has space'] }, 'tags/0'],
      ['pagerduty', { routing_key: ROUTING_KEY, severity: 'catastrophic' }, 'severity'],
    ];
    for (const [vendor, body, field] of cases) {
      const res = await warden.request.post(`/api/v1/audit-logs/siem/${vendor}/export`).set(key).send(body).expect(422);
      assert.equal(res.body.details[0].field, field);
    }
    assert.equal(receiver.requests.length, 0);
  });
});
