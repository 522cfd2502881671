import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { HttpReceiver } from './support/http-receiver';
import { assertNoSecretAtRest, type TestOrg } from './support/identity';
import { assertVerifies, DD_KEY, type ExportedEvent, HEC_TOKEN, ROUTING_KEY, siemFixture, TEST_CA } from './support/siem-fixture';
import type { TestApp } from './support/test-app';

describe("SIEM exports: each vendor's intake format (Datadog, Splunk HEC, PagerDuty) over real HTTP and https (issue 5)", () => {
  const fixture = siemFixture();
  let warden: TestApp;
  let receiver: HttpReceiver;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  let workspaceId: string;
  const { siemEvents } = fixture;
  before(() => ({ warden, receiver, org, key, workspaceId } = fixture));

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
      assert.deepEqual(
        [log.ddsource, log.ddtags, log.service, log.hostname, log.status],
        ['sekuire', 'env:prod,team:secops', 'sekuire.audit', 'warden', 'info'],
      );
      const event = JSON.parse(log.message!) as ExportedEvent;
      assert.equal(log.date, event.occurred_at);
      assertVerifies(event);
    }
    const seqs = logs.map((log) => (JSON.parse(log.message!) as ExportedEvent).seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'oldest first',
    );
    assert.deepEqual([res.body.first_seq, res.body.last_seq], [seqs[0], seqs[4]]);

    const [recorded] = await siemEvents(org.id);
    assert.equal(recorded.outcome, 'success');
    assert.equal(recorded.actor_id, org.keyId);
    assert.deepEqual(recorded.details, {
      vendor: 'datadog',
      intake_host: `127.0.0.1:${receiver.port}`,
      event_type: null,
      selected: 5,
      sent: 5,
      failed: 0,
    });
    await assertNoSecretAtRest(warden, [DD_KEY]);
  });

  it('filters by workspace and event type and sends the newest `limit` of them', async () => {
    const res = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set(key)
      .send({
        workspace_id: workspaceId,
        event_type: 'environment.created',
        limit: 2,
        api_key: DD_KEY,
        intake_url: receiver.url('/api/v2/logs'),
      })
      .expect(200);
    assert.equal(res.body.selected, 2);
    const events = (JSON.parse(receiver.requests[0]!.body) as Array<{ message: string }>).map(
      (log) => JSON.parse(log.message) as ExportedEvent,
    );
    assert.deepEqual(
      events.map((event) => [event.action, event.workspace_id]),
      [
        ['environment.created', workspaceId],
        ['environment.created', workspaceId],
      ],
    );
    const all = await warden.auditRows(
      `SELECT seq FROM audit_events WHERE org_id = $1 AND action = 'environment.created' ORDER BY seq DESC LIMIT 2`,
      [org.id],
    );
    assert.deepEqual(
      events.map((event) => event.seq),
      all.map((row: { seq: string }) => Number(row.seq)).reverse(),
    );
  });

  it('Splunk HEC: Authorization: Splunk <token>, one HEC event object per audit event, batches of at most 500', async () => {
    await Promise.all(
      Array.from({ length: 520 }, (_, i) =>
        warden.services.audit.record({
          orgId: org.id,
          actor: { type: 'system', id: null },
          action: 'auth.login_failed',
          outcome: 'failure',
          details: { n: i },
        }),
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
    assert.deepEqual(
      receiver.requests.map((request) => request.body.split('\n').length),
      [500, 10],
    );
    const first = objects[0];
    assert.deepEqual(
      [first.host, first.source, first.sourcetype, first.index, first.fields],
      ['api-node-1', 'sekuire:audit', '_json', 'main', { tags: ['env:prod'] }],
    );
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
    await warden.request
      .post('/api/v1/audit-logs/siem/pagerduty/export')
      .set(key)
      .send({ ...body, event_action: 'resolve', limit: 1 })
      .expect(200);
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
});
