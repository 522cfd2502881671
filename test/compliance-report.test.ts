import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bootstrapInstallation, registerAgent } from './support/agents';
import { createOrg, createUserAndLogin, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

interface Control {
  framework: string;
  control: string;
  status: string;
  evidence: string[];
}

describe('compliance report: evidence about an agent in a workspace, mapped to SOC 2 and HIPAA controls (issue 5)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  let workspaceId: string;
  let agent: Awaited<ReturnType<typeof registerAgent>>;
  let leased: { installation_id: string; runtime_token: string; refresh_token: string | undefined };
  let revokedId: string;

  const report = (ref: string, query = '') => warden.request.get(`/api/v1/agents/${ref}/compliance/${workspaceId}/report${query}`).set(key);
  const control = (controls: Control[], id: string) => controls.find((entry) => entry.control === id)!;
  async function installToken(): Promise<string> {
    const res = await warden.request
      .post(`/api/v1/workspaces/${workspaceId}/install-tokens`)
      .set(key)
      .send({ agent_id: agent.id })
      .expect(201);
    return res.body.token;
  }
  const bootstrap = (token: string) => bootstrapInstallation(warden, token);
  const lease = (id: string, token: string) =>
    warden.request
      .post(`/api/v1/installations/${id}/lease`)
      .set('Authorization', `Bearer ${token}`)
      .send({ status: 'running', heartbeat_interval_seconds: 60 })
      .expect(200);

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise');
    key = { 'X-API-Key': org.key };
    workspaceId = (await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Production' }).expect(201)).body
      .id;
    agent = await registerAgent(warden, org.key, 'Report | Agent');

    // One installation leased and refreshed once, one revoked, one install token left unused.
    const first = await bootstrap(await installToken());
    const refreshed = await warden.request
      .post(`/api/v1/installations/${first.installation_id}/refresh`)
      .send({ refresh_token: first.refresh_token })
      .expect(200);
    leased = {
      installation_id: first.installation_id,
      runtime_token: refreshed.body.runtime_token,
      refresh_token: refreshed.body.refresh_token ?? first.refresh_token,
    };
    await lease(leased.installation_id, leased.runtime_token);
    const second = await bootstrap(await installToken());
    revokedId = second.installation_id;
    await warden.request
      .post(`/api/v1/installations/${revokedId}/revoke`)
      .set(key)
      .send({ reason: 'Rotated host', shutdown_timeout_ms: 1000 })
      .expect(200);
    await installToken();
  });
  after(() => warden.close());

  it('JSON: identity, credentials and rotation, installations and leases, revocations, audit trail, a verified chain, controls judged', async () => {
    const res = await report(agent.sekuireId).expect(200);
    const body = res.body;
    assert.deepEqual([body.organization_id, body.workspace_id, body.frameworks], [org.id, workspaceId, ['soc2', 'hipaa']]);
    assert.deepEqual(
      [body.agent.id, body.agent.sekuire_id, body.agent.did, body.agent.identity, body.agent.status, body.agent.name],
      [agent.id, agent.sekuireId, `did:sekuire:${agent.sekuireId}`, 'registered_key', 'active', 'Report | Agent'],
    );
    assert.match(body.agent.public_key_fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(body.credentials.install_tokens, { issued: 3, used: 2, expired_unused: 0, outstanding: 1 });
    assert.deepEqual(body.credentials.runtime_tokens, { active: 1, expiring_within_7_days: 0 });
    assert.equal(body.credentials.refresh.rotations, 1);
    assert.ok(body.credentials.refresh.last_rotated_at);
    assert.equal(body.credentials.refresh.reuse_detected, 0);
    assert.equal(body.credentials.agent_secret_issued, false);
    assert.deepEqual(
      body.installations.map((i: { id: string; status: string; token_version: number }) => [i.id, i.status, i.token_version]),
      [
        [revokedId, 'revoked', 1],
        [leased.installation_id, 'active', 2],
      ],
    );
    assert.deepEqual(
      body.revocations.map((r: { kind: string; id: string; reason: string }) => [r.kind, r.id, r.reason]),
      [['installation_revoked', revokedId, 'Rotated host']],
    );
    assert.equal(body.audit.by_action['agent.registered'], 1);
    assert.equal(body.audit.by_action['installation.revoked'], 1);
    assert.equal(body.audit.events, body.audit.recent.length);
    assert.ok(
      body.audit.recent.every(
        (event: { resource_id: string; actor_id: string }) =>
          [agent.id, leased.installation_id, revokedId].includes(event.resource_id) ||
          [agent.id, leased.installation_id, revokedId].includes(event.actor_id),
      ),
    );
    assert.deepEqual([body.audit.chain.valid, body.audit.chain.org_id], [true, org.id]);

    assert.deepEqual(
      body.controls.map((c: Control) => `${c.framework}:${c.control}`),
      [
        'soc2:CC6.1',
        'soc2:CC6.2',
        'soc2:CC6.3',
        'soc2:CC7.2',
        'soc2:CC7.3',
        'soc2:CC8.1',
        'hipaa:164.312(a)(2)(i)',
        'hipaa:164.312(a)(1)',
        'hipaa:164.312(b)',
        'hipaa:164.312(c)(1)',
        'hipaa:164.312(d)',
        'hipaa:164.308(a)(1)(ii)(D)',
        'hipaa:164.308(a)(3)(ii)(C)',
        'hipaa:164.308(a)(6)(ii)',
      ],
    );
    assert.ok(
      body.controls.every((c: Control) => c.status === 'satisfied' && c.evidence.length > 0),
      JSON.stringify(body.controls.filter((c: Control) => c.status !== 'satisfied')),
    );
    assert.deepEqual(body.summary, { satisfied: 14, attention: 0, not_applicable: 0 });
    assert.match(control(body.controls, 'CC6.3').evidence[0]!, new RegExp(`installation_revoked ${revokedId} at .*: Rotated host`));

    const byId = await report(agent.id, '?frameworks=soc2&format=json').expect(200);
    assert.deepEqual(byId.body.frameworks, ['soc2']);
    assert.ok(byId.body.controls.every((c: Control) => c.framework === 'soc2'));
  });

  it('evidence of trouble turns controls to attention: a killed agent still leased, refresh-token reuse, a broken chain', async () => {
    await warden.request
      .post('/api/v1/installations/recovery')
      .set(key)
      .send({ agent_id: agent.id, workspace_id: workspaceId })
      .expect(200);
    const reused = await warden.request
      .post(`/api/v1/installations/${leased.installation_id}/refresh`)
      .send({ refresh_token: leased.refresh_token })
      .expect(401);
    assert.equal(reused.body.code, 'REFRESH_TOKEN_REUSED');
    await warden.request.post(`/api/v1/kill-switch/${agent.id}`).set(key).send({ reason: 'Anomalous spend' }).expect(200);

    const body = (await report(agent.id)).body;
    assert.equal(body.agent.status, 'disabled');
    assert.equal(body.agent.disabled_reason, 'Anomalous spend');
    assert.equal(body.credentials.refresh.reuse_detected, 1);
    const disabled = body.revocations.find((r: { kind: string }) => r.kind === 'agent_disabled');
    assert.equal(disabled.reason, 'Anomalous spend');
    assert.ok(disabled.at, 'the kill switch time comes from its audit event');
    assert.equal(control(body.controls, 'CC7.3').status, 'attention');
    const removal = control(body.controls, 'CC6.3');
    assert.equal(removal.status, 'attention');
    assert.match(removal.evidence.at(-1)!, new RegExp(`The agent is disabled but ${leased.installation_id} still hold a current lease`));
    assert.equal(control(body.controls, '164.308(a)(6)(ii)').status, 'attention');

    const [{ seq }] = await warden.auditRows(`SELECT seq FROM audit_events WHERE org_id = $1 ORDER BY seq LIMIT 1`, [org.id]);
    await warden.database.dataSource.query(`UPDATE audit_events SET ip = '10.9.9.9' WHERE org_id = $1 AND seq = $2`, [org.id, seq]);
    const tampered = (await report(agent.id)).body;
    assert.deepEqual(
      [tampered.audit.chain.valid, tampered.audit.chain.first_broken_seq, tampered.audit.chain.reason],
      [false, Number(seq), 'edited'],
    );
    assert.equal(control(tampered.controls, 'CC8.1').status, 'attention');
    assert.equal(control(tampered.controls, '164.312(c)(1)').status, 'attention');
    assert.ok(tampered.summary.attention >= 4);
  });

  it('Markdown: the same report as a document, table cells escaped', async () => {
    const res = await report(agent.sekuireId, '?format=markdown&frameworks=soc2,hipaa').expect(200);
    assert.match(String(res.headers['content-type']), /^text\/markdown; charset=utf-8/);
    const text = res.text;
    assert.match(text, /^# Compliance report: Report \\\| Agent\n/);
    for (const heading of [
      '## Agent identity',
      '## Credentials and rotation',
      '## Installations and leases',
      '## Revocations',
      '## Audit trail',
      '## Controls',
      '### SOC 2 (Trust Services Criteria)',
      '### HIPAA Security Rule',
    ]) {
      assert.ok(text.includes(`\n${heading}\n`), heading);
    }
    assert.match(text, /\| CC6\.1 \| Logical access security: identities and credentials \| satisfied \|/);
    assert.match(text, /\| CC7\.3 \| Evaluation of security events \| \*\*attention\*\* \|/);
    assert.ok(text.includes(`| ${revokedId} | revoked |`));
    assert.ok(text.includes(`| sekuire_id | ${agent.sekuireId} |`));
  });

  it('Markdown: caller-chosen text (agent name, kill and revoke reasons) cannot inject HTML, links, emphasis or table rows', async () => {
    const hostileName = '<img src=x onerror=alert(1)> [click](https://evil.example) **bold** `code` _x_';
    const hostile = await registerAgent(warden, org.key, hostileName);
    const token = (
      await warden.request.post(`/api/v1/workspaces/${workspaceId}/install-tokens`).set(key).send({ agent_id: hostile.id }).expect(201)
    ).body.token;
    const installation = await bootstrap(token);
    await warden.request
      .post(`/api/v1/installations/${installation.installation_id}/revoke`)
      .set(key)
      .send({ reason: '<script>alert(2)</script>', shutdown_timeout_ms: 1000 })
      .expect(200);
    await warden.request
      .post(`/api/v1/kill-switch/${hostile.id}`)
      .set(key)
      .send({ reason: 'spend\n| injected | row |\n![x](https://evil.example/x.png)' })
      .expect(200);

    const text = (
      await warden.request.get(`/api/v1/agents/${hostile.id}/compliance/${workspaceId}/report?format=markdown`).set(key).expect(200)
    ).text;
    const lines = text.split('\n');
    assert.equal(
      lines[0],
      String.raw`# Compliance report: &lt;img src=x onerror=alert(1)&gt; \[click\](https\://evil.example) \*\*bold\*\* \`code\` \_x\_`,
    );
    for (const raw of ['<img', '<script', '](https://', '![x]', '**bold**', '`code`', '\n| injected'])
      assert.ok(!text.includes(raw), `${raw} reached the Markdown`);
    assert.ok(text.includes(String.raw`| Disabled | spend \| injected \| row \| \!\[x\](https\://evil.example/x.png) |`), text);
    assert.ok(text.includes('&lt;script&gt;alert(2)&lt;/script&gt;'));
    // Every table row has as many unescaped pipes as its table's header: no cell spilled into a new one.
    for (const row of lines.filter((line) => line.startsWith('| ') && line.includes(hostile.id))) {
      assert.ok([3, 5, 7, 9].includes(row.split(/(?<!\\)\|/).length - 1), row);
    }
  });

  it("needs Enterprise (402), audit.read with agent.read and audit.verify (403), and the caller's own agent and workspace (404); bad queries are 400", async () => {
    const professional = await createOrg(warden, 'professional', 'Pro');
    const proWs = (
      await warden.request
        .post(`/api/v1/orgs/${professional.id}/workspaces`)
        .set('X-API-Key', professional.key)
        .send({ name: 'W' })
        .expect(201)
    ).body.id;
    const proAgent = await registerAgent(warden, professional.key);
    const gated = await warden.request
      .get(`/api/v1/agents/${proAgent.id}/compliance/${proWs}/report`)
      .set('X-API-Key', professional.key)
      .expect(402);
    assert.deepEqual([gated.body.code, gated.body.required_plan], ['COMPLIANCE_REPORTS_REQUIRES_UPGRADE', 'enterprise']);

    const viewer = await createUserAndLogin(warden, org, 'report-viewer@example.com', 'viewer');
    const refused = await warden.request
      .get(`/api/v1/agents/${agent.id}/compliance/${workspaceId}/report`)
      .set('Authorization', `Bearer ${viewer.token}`)
      .expect(403);
    assert.match(refused.body.message, /audit\.read/);

    // audit.read alone is no way round agent.read (the report shows the agent) or audit.verify (it verifies the chain).
    const keyWith = async (permissions: string[]) =>
      (
        await warden.request
          .post('/api/v1/api-keys')
          .set(key)
          .send({ name: permissions.join(' '), permissions })
          .expect(201)
      ).body.key;
    for (const [permissions, missing] of [
      [['audit.read'], 'agent.read'],
      [['audit.read', 'agent.read'], 'audit.verify'],
      [['audit.read', 'audit.verify'], 'agent.read'],
    ] as const) {
      const narrow = await warden.request
        .get(`/api/v1/agents/${agent.id}/compliance/${workspaceId}/report`)
        .set('X-API-Key', await keyWith([...permissions]))
        .expect(403);
      assert.equal(narrow.body.code, 'PERMISSION_DENIED');
      assert.match(narrow.body.message, new RegExp(`'${missing.replace('.', '\\.')}'`));
    }
    await warden.request
      .get(`/api/v1/agents/${agent.id}/compliance/${workspaceId}/report`)
      .set('X-API-Key', await keyWith(['audit.read', 'agent.read', 'audit.verify']))
      .expect(200);

    const other = await createOrg(warden, 'enterprise', 'Other');
    const otherWs = (
      await warden.request.post(`/api/v1/orgs/${other.id}/workspaces`).set('X-API-Key', other.key).send({ name: 'Theirs' }).expect(201)
    ).body.id;
    await warden.request.get(`/api/v1/agents/${agent.id}/compliance/${workspaceId}/report`).set('X-API-Key', other.key).expect(404);
    await warden.request.get(`/api/v1/agents/${agent.id}/compliance/${otherWs}/report`).set(key).expect(404);
    await warden.request.get(`/api/v1/agents/agt_nothere/compliance/${workspaceId}/report`).set(key).expect(404);

    const badFramework = await warden.request
      .get(`/api/v1/agents/${agent.id}/compliance/${workspaceId}/report?frameworks=iso27001`)
      .set(key)
      .expect(400);
    assert.equal(badFramework.body.code, 'INVALID_PARAMETER');
    await warden.request.get(`/api/v1/agents/${agent.id}/compliance/${workspaceId}/report?format=pdf`).set(key).expect(400);
    await warden.request.get(`/api/v1/agents/a1b2c3d4/compliance/${workspaceId}/report`).set(key).expect(400);
  });
});
