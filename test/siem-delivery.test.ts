import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import publishedSpec from '../generated/openapi.json';
import { loadConfig } from '../src/config/config';
import { type HttpReceiver, silence, status } from './support/http-receiver';
import { createOrg, type TestOrg } from './support/identity';
import { DD_KEY, HEC_TOKEN, OUTBOUND, ROUTING_KEY, siemFixture } from './support/siem-fixture';
import { startTestApp, type TestApp } from './support/test-app';

describe('SIEM exports: delivery (retries, timeouts, refused destinations) and the audit event of every outcome (issue 5)', () => {
  const fixture = siemFixture();
  let warden: TestApp;
  let receiver: HttpReceiver;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  const { siemEvents } = fixture;
  before(() => ({ warden, receiver, org, key } = fixture));

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
    assert.deepEqual(failed.body.details, [
      { location: 'upstream', field: 'batch 1', message: 'HTTP 500 after 3 attempts', rule: 'delivery' },
    ]);
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

  it("stops sending when the export's time is spent and reports the unsent batches as failed", async () => {
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
      [
        ['batch 1', 'timed out after 400 ms after 3 attempts'],
        ['batch 2', "not sent: the export's 1000 ms were spent after 0 attempts"],
      ],
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
      const res = await warden.request
        .post('/api/v1/audit-logs/siem/datadog/export')
        .set(key)
        .send({ api_key: DD_KEY, intake_url: url })
        .expect(422);
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

  it("the spec declares each export's audit event (x-audit, recorded by the service), and every outcome writes exactly one: sent, refused, unresolvable, nothing delivered", async () => {
    const paths = (publishedSpec as unknown as { paths: Record<string, { post?: Record<string, unknown> }> }).paths;
    for (const vendor of ['datadog', 'splunk', 'pagerduty']) {
      const operation = paths[`/api/v1/audit-logs/siem/${vendor}/export`]!.post!;
      assert.deepEqual([operation['x-audit'], operation['x-audit-recorded-by']], ['audit.siem_exported', 'service'], vendor);
    }
    const own = await createOrg(warden, 'professional', 'One event each');
    await warden.request.post(`/api/v1/orgs/${own.id}/workspaces`).set('X-API-Key', own.key).send({ name: 'W' }).expect(201);
    const exportAs = (requestId: string, body: Record<string, unknown>, expected: number) =>
      warden.request
        .post('/api/v1/audit-logs/siem/datadog/export')
        .set('X-API-Key', own.key)
        .set('X-Request-Id', requestId)
        .send({ api_key: DD_KEY, ...body })
        .expect(expected);
    const recorded = async (requestId: string): Promise<Array<[string, Record<string, unknown>]>> =>
      (await siemEvents(own.id))
        .filter((event: { request_id: string }) => event.request_id === requestId)
        .map((event: { outcome: string; details: Record<string, unknown> }) => [event.outcome, event.details]);

    await exportAs('siem-sent', { intake_url: receiver.url('/api/v2/logs') }, 200);
    assert.deepEqual(await recorded('siem-sent'), [
      ['success', { vendor: 'datadog', intake_host: `127.0.0.1:${receiver.port}`, event_type: null, selected: 1, sent: 1, failed: 0 }],
    ]);
    receiver.reply(status(500), status(500), status(500));
    await exportAs('siem-nothing', { intake_url: receiver.url('/api/v2/logs'), limit: 1 }, 502);
    assert.deepEqual(
      (await recorded('siem-nothing')).map(([outcome]) => outcome),
      ['failure'],
    );
    await exportAs('siem-refused', { intake_url: 'https://10.0.0.1/api/v2/logs' }, 422);
    assert.deepEqual(await recorded('siem-refused'), [
      [
        'denied',
        { vendor: 'datadog', intake_host: '10.0.0.1', event_type: null, selected: 0, sent: 0, failed: 0, error: 'DESTINATION_NOT_ALLOWED' },
      ],
    ]);
    const unresolvable = await exportAs('siem-unresolvable', { intake_url: 'https://nowhere.invalid/api/v2/logs' }, 502);
    assert.equal(unresolvable.body.code, 'DESTINATION_UNRESOLVABLE');
    assert.deepEqual(await recorded('siem-unresolvable'), [
      [
        'failure',
        {
          vendor: 'datadog',
          intake_host: 'nowhere.invalid',
          event_type: null,
          selected: 0,
          sent: 0,
          failed: 0,
          error: 'DESTINATION_UNRESOLVABLE',
        },
      ],
    ]);
  });
});
