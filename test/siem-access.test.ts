import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config';
import type { HttpReceiver } from './support/http-receiver';
import { adminLogin, createOrg, createUserAndLogin, PASSWORD, type TestOrg } from './support/identity';
import { startMailCatcher } from './support/mail-catcher';
import { assertVerifies, DD_KEY, type ExportedEvent, HEC_TOKEN, OUTBOUND, ROUTING_KEY, siemFixture } from './support/siem-fixture';
import { startTestApp, type TestApp } from './support/test-app';

describe('SIEM exports: who may export what (platform chain, credentials, plan, permission, rate limit, schema) (issue 5)', () => {
  const fixture = siemFixture();
  let warden: TestApp;
  let receiver: HttpReceiver;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  before(() => ({ warden, receiver, org, key } = fixture));

  it('a platform admin session exports the platform chain (events of no org); an org credential naming it gets 403', async () => {
    const refused = await warden.request
      .post('/api/v1/audit-logs/siem/splunk/export')
      .set(key)
      .send({ organization_id: 'platform', hec_token: HEC_TOKEN, intake_url: receiver.url('/services/collector') })
      .expect(403);
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
        .send({
          organization_id: 'platform',
          event_type: 'auth.login_failed',
          hec_token: HEC_TOKEN,
          intake_url: receiver.url('/services/collector'),
        })
        .expect(200);
      assert.equal(res.body.organization_id, 'platform');
      const sent = receiver.requests.flatMap((request) => request.body.split('\n').map((line) => JSON.parse(line).event as ExportedEvent));
      assert.ok(sent.length > 0 && sent.every((event) => event.org_id === 'platform' && event.action === 'auth.login_failed'));
      assert.ok(sent.some((event) => event.actor_id === 'nobody-siem@example.com'));
      sent.forEach(assertVerifies);
      const [{ n }] = await platform.auditRows(
        `SELECT count(*)::int AS n FROM audit_events WHERE org_id = 'platform' AND action = 'audit.siem_exported' AND actor_id = 'siem-admin@example.com'`,
      );
      assert.equal(n, 1, 'the export is recorded in the platform chain, by the admin');
    } finally {
      await platform.close();
      await mail.close();
    }
  });

  it('credentials: the body, else the server configuration, which is never sent to an intake the caller chose', async () => {
    const missing = await warden.request
      .post('/api/v1/audit-logs/siem/datadog/export')
      .set(key)
      .send({ intake_url: receiver.url('/x') })
      .expect(422);
    assert.deepEqual([missing.body.code, missing.body.details[0].field], ['SIEM_CREDENTIAL_REQUIRED', 'api_key']);
    const noIntake = await warden.request.post('/api/v1/audit-logs/siem/splunk/export').set(key).send({ hec_token: HEC_TOKEN }).expect(422);
    assert.deepEqual([noIntake.body.code, noIntake.body.details[0].field], ['SIEM_INTAKE_REQUIRED', 'intake_url']);

    const defaults = loadConfig({});
    const configured = await startTestApp({
      database: warden.database,
      config: {
        outbound: OUTBOUND,
        siem: {
          ...defaults.siem,
          datadogApiKey: DD_KEY,
          datadogIntakeUrl: receiver.url('/configured/logs'),
          pagerdutyRoutingKey: ROUTING_KEY,
          pagerdutyEventsUrl: receiver.url('/configured/enqueue'),
        },
      },
    });
    await configured.request.post('/api/v1/audit-logs/siem/datadog/export').set(key).send({ limit: 1 }).expect(200);
    assert.equal(receiver.requests[0]!.path, '/configured/logs');
    assert.equal(receiver.requests[0]!.headers['dd-api-key'], DD_KEY);
    await configured.request
      .post('/api/v1/audit-logs/siem/pagerduty/export')
      .set(key)
      .send({ limit: 1, intake_url: receiver.url('/configured/enqueue') })
      .expect(200);
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

  it("needs Professional (402 with the seed body), audit.export (403 for a viewer), and the caller's own org (404)", async () => {
    const starter = await createOrg(warden, 'starter', 'Starter SIEM');
    const other = await createOrg(warden, 'enterprise', 'Other SIEM');
    const bodies = {
      datadog: { api_key: DD_KEY, intake_url: receiver.url('/api/v2/logs') },
      splunk: { hec_token: HEC_TOKEN, intake_url: receiver.url('/services/collector') },
      pagerduty: { routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') },
    };
    for (const [vendor, body] of Object.entries(bodies)) {
      const gated = await warden.request
        .post(`/api/v1/audit-logs/siem/${vendor}/export`)
        .set('X-API-Key', starter.key)
        .send(body)
        .expect(402);
      assert.deepEqual(
        [gated.body.error, gated.body.code, gated.body.required_plan],
        ['plan_limit_exceeded', 'SIEM_EXPORT_REQUIRES_UPGRADE', 'professional'],
      );
      assert.equal(typeof gated.body.upgrade_url, 'string');
      const foreign = await warden.request
        .post(`/api/v1/audit-logs/siem/${vendor}/export`)
        .set(key)
        .send({ ...body, organization_id: other.id })
        .expect(404);
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
    const exported = (JSON.parse(receiver.requests[0]!.body) as Array<{ message: string }>).map(
      (log) => JSON.parse(log.message) as ExportedEvent,
    );
    assert.equal(leaked.body.selected, exported.length);
    assert.ok(exported.length > 0);
    assert.ok(
      exported.every((event) => event.org_id === other.id),
      "another org's export holds none of this org's events",
    );
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
    for (let i = 0; i < 2; i++)
      await strict.request.post('/api/v1/audit-logs/siem/datadog/export').set('X-API-Key', limited.key).send(body).expect(200);
    const refused = await strict.request
      .post('/api/v1/audit-logs/siem/splunk/export')
      .set('X-API-Key', limited.key)
      .send({ hec_token: HEC_TOKEN, intake_url: body.intake_url })
      .expect(429);
    assert.equal(refused.body.code, 'RATE_LIMITED');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const other = await createOrg(strict, 'professional', 'Not limited');
    await strict.request
      .post('/api/v1/audit-logs/siem/pagerduty/export')
      .set('X-API-Key', other.key)
      .send({ routing_key: ROUTING_KEY, intake_url: receiver.url('/v2/enqueue') })
      .expect(200);
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
