import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bootstrapInstallation, registerAgent } from './support/agents';
import { assertNoSecretAtRest, createOrg, rowCounts, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('installations: install tokens, bootstrap, lease, refresh, recovery, beacon, revoke (seed 000)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let key: { 'X-API-Key': string };
  let workspaceId: string;
  const handled: string[] = [];

  const registeredAgent = () => registerAgent(warden, org.key);
  async function installToken(agentRef: string, expiryMinutes = 15): Promise<string> {
    const res = await warden.request
      .post(`/api/v1/workspaces/${workspaceId}/install-tokens`)
      .set(key)
      .send({ agent_id: agentRef, expiry_minutes: expiryMinutes })
      .expect(201);
    handled.push(res.body.token);
    return res.body.token;
  }
  async function bootstrap(token: string) {
    const booted = await bootstrapInstallation(warden, token);
    handled.push(booted.runtime_token);
    if (booted.refresh_token) handled.push(booted.refresh_token);
    return booted;
  }
  const lease = (id: string, runtimeToken: string) =>
    warden.request
      .post(`/api/v1/installations/${id}/lease`)
      .set('Authorization', `Bearer ${runtimeToken}`)
      .send({ status: 'running', heartbeat_interval_seconds: 60, health_payload: { memory_mb: 512 } });
  const refresh = async (id: string, refreshToken: string | undefined) => {
    const res = await warden.request.post(`/api/v1/installations/${id}/refresh`).send({ refresh_token: refreshToken });
    if (res.status === 200) handled.push(res.body.runtime_token, res.body.refresh_token);
    return res;
  };
  const sealedPairs = async (installationId: string) =>
    (
      await warden.database.dataSource.query(
        `SELECT count(replay_ciphertext)::int AS n FROM superseded_refresh_tokens WHERE installation_id = $1`,
        [installationId],
      )
    )[0].n;
  const runtimeTokens = async (installationId: string): Promise<number> =>
    (
      await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM runtime_tokens WHERE installation_id = $1`, [installationId])
    )[0].n;
  const replayBootstrap = (token: string) => warden.request.post('/api/v1/installations/bootstrap').send({ install_token: token });
  /** The org's audit events about one installation, oldest first. */
  const eventsOf = async (installationId: string) =>
    warden.auditRows(`SELECT * FROM audit_events WHERE org_id = $1 AND resource_id = $2 ORDER BY seq`, [org.id, installationId]);

  before(async () => {
    warden = await startTestApp();
    org = await createOrg(warden, 'enterprise');
    key = { 'X-API-Key': org.key };
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Production' }).expect(201);
    workspaceId = ws.body.id;
  });
  after(async () => {
    await assertNoSecretAtRest(warden, handled);
    await warden.close();
  });

  it('the seed 000 flow: register → install token → bootstrap → lease ×3 → refresh → revoke → lease says shutdown → token refused', async () => {
    const agent = await registeredAgent();
    const token = await installToken(agent.sekuireId);
    assert.match(token, /^skt_[A-Za-z0-9]{38}$/);
    const boot = await bootstrap(token);
    assert.match(boot.installation_id, /^inst_/);
    assert.match(boot.runtime_token, /^srt_/);
    assert.match(boot.refresh_token!, /^srf_/);
    assert.equal(boot.heartbeat_interval, 60);
    const days = (new Date(boot.expires_at).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90);

    for (let i = 0; i < 3; i++) {
      const res = await lease(boot.installation_id, boot.runtime_token).expect(200);
      assert.equal(res.body.command, null);
      assert.equal(res.body.refreshed_token, undefined, 'a fresh token is not replaced');
      const leaseMs = new Date(res.body.lease_expires_at).getTime() - Date.now();
      assert.ok(leaseMs > 170_000 && leaseMs <= 180_000, `lease ${leaseMs} ms`);
    }
    const [row] = await warden.database.dataSource.query(`SELECT reported_status, health_payload FROM installations WHERE id = $1`, [
      boot.installation_id,
    ]);
    assert.deepEqual(row, { reported_status: 'running', health_payload: { memory_mb: 512 } });

    const refreshed = await refresh(boot.installation_id, boot.refresh_token);
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.token_version, 2);
    assert.match(refreshed.body.refresh_token, /^srf_[A-Za-z0-9]{38}$/);
    assert.notEqual(refreshed.body.refresh_token, boot.refresh_token, 'the refresh token rotates');
    const stale = await lease(boot.installation_id, boot.runtime_token).expect(401);
    assert.equal(stale.body.code, 'CREDENTIAL_REVOKED', 'the previous runtime token stops at once');
    await lease(boot.installation_id, refreshed.body.runtime_token).expect(200);

    const revoked = await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/revoke`)
      .set(key)
      .send({ reason: 'Security incident', shutdown_timeout_ms: 60_000 })
      .expect(200);
    assert.equal(revoked.body.status, 'revoked');
    const shutdown = await lease(boot.installation_id, refreshed.body.runtime_token).expect(200);
    assert.equal(shutdown.body.command.type, 'shutdown');
    assert.equal(shutdown.body.command.reason, 'Security incident');
    assert.ok(shutdown.body.command.timeout_ms > 50_000 && shutdown.body.command.timeout_ms <= 60_000);
    const afterRevoke = await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/refresh`)
      .send({ refresh_token: refreshed.body.refresh_token })
      .expect(401);
    assert.equal(afterRevoke.body.code, 'REFRESH_TOKEN_INVALID', 'the revocation killed the refresh token');
    // Past the shutdown deadline the lease still says shutdown, now with nothing left to wait.
    await warden.database.dataSource.query(`UPDATE installations SET revoked_at = now() - interval '2 minutes' WHERE id = $1`, [
      boot.installation_id,
    ]);
    const late = await lease(boot.installation_id, refreshed.body.runtime_token).expect(200);
    assert.deepEqual(late.body.command, { type: 'shutdown', reason: 'Security incident', timeout_ms: 0 });
  });

  it('revoke with shutdown_timeout_ms 0: the next lease, and every one after, answers shutdown with timeout_ms 0 (not 401)', async () => {
    const boot = await bootstrap(await installToken((await registeredAgent()).id));
    const revoked = await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/revoke`)
      .set(key)
      .send({ reason: 'Host decommissioned', shutdown_timeout_ms: 0 })
      .expect(200);
    assert.ok(new Date(revoked.body.shutdown_deadline).getTime() <= Date.now());
    // Even a token close to expiry gets no replacement: the answer is only the command.
    await warden.database.dataSource.query(`UPDATE runtime_tokens SET expires_at = now() + interval '1 day' WHERE installation_id = $1`, [
      boot.installation_id,
    ]);
    for (let i = 0; i < 2; i++) {
      const res = await lease(boot.installation_id, boot.runtime_token).expect(200);
      assert.deepEqual(res.body.command, { type: 'shutdown', reason: 'Host decommissioned', timeout_ms: 0 });
      assert.equal(res.body.refreshed_token, undefined);
    }
    // The token opens nothing else.
    await warden.request.get('/api/v1/agents').set('Authorization', `Bearer ${boot.runtime_token}`).expect(403);
  });

  it('bootstrap is idempotent for 60 s: the same token returns the same answer and mints nothing; then it is refused', async () => {
    const agent = await registeredAgent();
    const token = await installToken(agent.id);
    const first = await bootstrap(token);
    const again = await bootstrap(token);
    assert.deepEqual(again, first, 'the same installation, runtime token and refresh token');
    assert.equal(await runtimeTokens(first.installation_id), 1);
    await lease(first.installation_id, first.runtime_token).expect(200);
    await warden.database.dataSource.query(`UPDATE install_tokens SET used_at = now() - interval '61 seconds' WHERE installation_id = $1`, [
      first.installation_id,
    ]);
    const late = await replayBootstrap(token).expect(401);
    assert.equal(late.body.code, 'INSTALL_TOKEN_USED');
    await warden.services.installations.forgetExpiredReplays();
    const [{ sealed }] = await warden.database.dataSource.query(
      `SELECT count(replay_ciphertext)::int AS sealed FROM install_tokens WHERE installation_id = $1`,
      [first.installation_id],
    );
    assert.equal(sealed, 0, 'the sealed answer is erased once the window closed');
  });

  it('within the 60 s, a repeat after a refresh, a recovery or a revoke is refused: the spent install token mints nothing', async () => {
    const moves = {
      refresh: async (boot: { installation_id: string; refresh_token?: string }) =>
        (await refresh(boot.installation_id, boot.refresh_token)).status,
      recovery: async (_boot: unknown, agentId: string) => {
        const res = await warden.request
          .post('/api/v1/installations/recovery')
          .set(key)
          .send({ agent_id: agentId, workspace_id: workspaceId });
        handled.push(res.body.runtime_token, res.body.refresh_token);
        return res.status;
      },
      revoke: async (boot: { installation_id: string }) =>
        (await warden.request.post(`/api/v1/installations/${boot.installation_id}/revoke`).set(key).send({ reason: 'Host decommissioned' }))
          .status,
    };
    for (const [name, move] of Object.entries(moves)) {
      const agent = await registeredAgent();
      const token = await installToken(agent.id);
      const boot = await bootstrap(token);
      assert.equal(await move(boot, agent.id), 200, name);
      const before = await runtimeTokens(boot.installation_id);
      const replay = await replayBootstrap(token).expect(401);
      assert.equal(replay.body.code, 'INSTALL_TOKEN_USED', name);
      assert.equal(await runtimeTokens(boot.installation_id), before, `no runtime token minted after ${name}`);
    }
  });

  it('fifty concurrent bootstraps with one install token: one installation, and all get the same runtime and refresh token', async () => {
    const agent = await registeredAgent();
    const token = await installToken(agent.id);
    const results = await Promise.all(Array.from({ length: 50 }, () => replayBootstrap(token)));
    for (const res of results) handled.push(res.body.runtime_token, res.body.refresh_token);
    assert.deepEqual([...new Set(results.map((res) => res.status))], [200]);
    assert.equal(new Set(results.map((res) => JSON.stringify(res.body))).size, 1);
    const answer = results[0]!.body;
    assert.match(answer.refresh_token, /^srf_/);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM installations WHERE agent_id = $1`, [agent.id]);
    assert.equal(n, 1);
    assert.equal(await runtimeTokens(answer.installation_id), 1);
  });

  it('expired, forged and malformed install tokens are 401, and nothing is written', async () => {
    const agent = await registeredAgent();
    const token = await installToken(agent.id, 1);
    await warden.database.dataSource.query(`UPDATE install_tokens SET expires_at = now() - interval '1 second' WHERE agent_id = $1`, [
      agent.id,
    ]);
    const before = await rowCounts(warden, ['installations', 'runtime_tokens']);
    const expired = await warden.request.post('/api/v1/installations/bootstrap').send({ install_token: token }).expect(401);
    assert.equal(expired.body.code, 'INSTALL_TOKEN_EXPIRED');
    await warden.request.post('/api/v1/installations/bootstrap').send({ install_token: 'skt_forged' }).expect(401);
    await warden.request
      .post('/api/v1/installations/bootstrap')
      .send({ install_token: `${token.slice(0, -1)}x` })
      .expect(401);
    assert.deepEqual(await rowCounts(warden, ['installations', 'runtime_tokens']), before);
    await warden.request
      .post(`/api/v1/workspaces/${workspaceId}/install-tokens`)
      .set(key)
      .send({ agent_id: agent.id, expiry_minutes: 1441 })
      .expect(422);
    await warden.request.post(`/api/v1/workspaces/${workspaceId}/install-tokens`).set(key).send({ agent_id: 'agt_nosuch' }).expect(404);
    await warden.request.post('/api/v1/workspaces/ws_nosuch/install-tokens').set(key).send({ agent_id: agent.id }).expect(404);
  });

  it('a lease within 7 days of expiry hands out a new token; the old one stops', async () => {
    const boot = await bootstrap(await installToken((await registeredAgent()).id));
    await warden.database.dataSource.query(`UPDATE runtime_tokens SET expires_at = now() + interval '6 days' WHERE installation_id = $1`, [
      boot.installation_id,
    ]);
    const res = await lease(boot.installation_id, boot.runtime_token).expect(200);
    handled.push(res.body.refreshed_token.runtime_token);
    assert.equal(res.body.refreshed_token.token_version, 2);
    await lease(boot.installation_id, res.body.refreshed_token.runtime_token).expect(200);
    await lease(boot.installation_id, boot.runtime_token).expect(401);
    // An expired runtime token is refused outright.
    await warden.database.dataSource.query(
      `UPDATE runtime_tokens SET expires_at = now() - interval '1 second' WHERE installation_id = $1`,
      [boot.installation_id],
    );
    const expired = await lease(boot.installation_id, res.body.refreshed_token.runtime_token).expect(401);
    assert.equal(expired.body.code, 'CREDENTIAL_EXPIRED');
  });

  it('refresh rotates; the spent token within 30 s returns the same pair; once its successor is used it revokes the family', async () => {
    const boot = await bootstrap(await installToken((await registeredAgent()).id));
    const first = await refresh(boot.installation_id, boot.refresh_token);
    assert.equal(first.status, 200);
    const retry = await refresh(boot.installation_id, boot.refresh_token);
    assert.equal(retry.status, 200, 'a retry within the grace window');
    assert.deepEqual(retry.body, first.body, 'the retry gets the very same pair');
    await lease(boot.installation_id, first.body.runtime_token).expect(200);

    const second = await refresh(boot.installation_id, first.body.refresh_token);
    assert.equal(second.status, 200);
    assert.equal(second.body.token_version, 3);
    assert.notEqual(second.body.refresh_token, first.body.refresh_token);
    const reuse = await refresh(boot.installation_id, boot.refresh_token);
    assert.equal(reuse.status, 401, 'its successor was used: no longer a retry');
    assert.equal(reuse.body.code, 'REFRESH_TOKEN_REUSED');
    await lease(boot.installation_id, second.body.runtime_token).expect(401);
    assert.equal((await refresh(boot.installation_id, second.body.refresh_token)).status, 401);
    const [revoked] = await warden.database.dataSource.query(`SELECT refresh_token_digest FROM installations WHERE id = $1`, [
      boot.installation_id,
    ]);
    assert.equal(revoked.refresh_token_digest, null);
    assert.equal(await sealedPairs(boot.installation_id), 0, 'no sealed pair outlives the revocation');
  });

  it('a spent refresh token presented after the grace window revokes every token of the installation, audited', async () => {
    const boot = await bootstrap(await installToken((await registeredAgent()).id));
    const fresh = await refresh(boot.installation_id, boot.refresh_token);
    assert.equal(fresh.status, 200);
    await warden.database.dataSource.query(
      `UPDATE superseded_refresh_tokens SET superseded_at = now() - interval '31 seconds' WHERE installation_id = $1`,
      [boot.installation_id],
    );
    assert.equal(await sealedPairs(boot.installation_id), 1);
    await warden.services.installations.forgetExpiredReplays();
    assert.equal(await sealedPairs(boot.installation_id), 0, 'the hourly maintenance erases pairs past their window');
    const reuse = await refresh(boot.installation_id, boot.refresh_token);
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.code, 'REFRESH_TOKEN_REUSED');
    await lease(boot.installation_id, fresh.body.runtime_token).expect(401);
    assert.equal((await refresh(boot.installation_id, fresh.body.refresh_token)).body.code, 'REFRESH_TOKEN_INVALID');
    const events = await eventsOf(boot.installation_id);
    const reused = events.find((event: { action: string }) => event.action === 'installation.refresh_token_reused');
    assert.equal(reused?.outcome, 'denied');
    assert.equal(reused.workspace_id, workspaceId);
  });

  it('eight concurrent refreshes with one token: one rotation, all eight get the same pair', async () => {
    const boot = await bootstrap(await installToken((await registeredAgent()).id));
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(boot.installation_id, boot.refresh_token)));
    assert.deepEqual([...new Set(results.map((res) => res.status))], [200]);
    for (const res of results) assert.deepEqual(res.body, results[0]!.body);
    assert.equal(results[0]!.body.token_version, 2);
    const [{ n }] = await warden.database.dataSource.query(`SELECT count(*)::int AS n FROM runtime_tokens WHERE installation_id = $1`, [
      boot.installation_id,
    ]);
    assert.equal(n, 2, 'the bootstrap token and one new one');
    await lease(boot.installation_id, results[0]!.body.runtime_token).expect(200);
    assert.equal((await refresh(boot.installation_id, results[0]!.body.refresh_token)).status, 200);
  });

  it('bootstrap, refresh, recovery and a token-handing lease each leave an event in the org chain, with no secret; a plain lease leaves none', async () => {
    const agent = await registeredAgent();
    const token = await installToken(agent.id);
    const boot = await bootstrap(token);
    const repeat = await bootstrap(token);
    const actions = async () => (await eventsOf(boot.installation_id)).map((event: { action: string }) => event.action);
    assert.deepEqual(await actions(), ['installation.bootstrapped', 'installation.bootstrapped']);

    await lease(boot.installation_id, boot.runtime_token).expect(200);
    assert.deepEqual(await actions(), ['installation.bootstrapped', 'installation.bootstrapped'], 'a plain renewal is no event');

    const refreshed = await refresh(boot.installation_id, boot.refresh_token);
    await warden.database.dataSource.query(`UPDATE runtime_tokens SET expires_at = now() + interval '6 days' WHERE installation_id = $1`, [
      boot.installation_id,
    ]);
    const renewed = await lease(boot.installation_id, refreshed.body.runtime_token).expect(200);
    handled.push(renewed.body.refreshed_token.runtime_token);
    const recovered = await warden.request
      .post('/api/v1/installations/recovery')
      .set(key)
      .send({ agent_id: agent.id, workspace_id: workspaceId })
      .expect(200);
    handled.push(recovered.body.runtime_token, recovered.body.refresh_token);

    const events = await eventsOf(boot.installation_id);
    assert.deepEqual(
      events.map((event: { action: string; actor_type: string; actor_id: string | null }) => [
        event.action,
        event.actor_type,
        event.actor_id,
      ]),
      [
        ['installation.bootstrapped', 'installation', boot.installation_id],
        ['installation.bootstrapped', 'installation', boot.installation_id],
        ['installation.token_refreshed', 'installation', boot.installation_id],
        ['installation.runtime_token_renewed', 'installation', boot.installation_id],
        ['installation.recovered', 'api_key', org.keyId],
      ],
    );
    for (const event of events) assert.equal(event.workspace_id, workspaceId);
    const renewal = events.find((event: { action: string }) => event.action === 'installation.runtime_token_renewed');
    assert.deepEqual(renewal.details, { token_version: 3, expires_at: renewed.body.refreshed_token.expires_at });
    assert.equal(events[2].details.after.refresh_token, '[REDACTED]');
    const text = JSON.stringify(events);
    for (const secret of [
      token,
      boot.runtime_token,
      boot.refresh_token!,
      repeat.runtime_token,
      refreshed.body.runtime_token,
      refreshed.body.refresh_token,
      renewed.body.refreshed_token.runtime_token,
      recovered.body.runtime_token,
      recovered.body.refresh_token,
    ]) {
      assert.ok(!text.includes(secret), `an audit event carries a secret (${secret.slice(0, 6)}…)`);
    }
    const verdict = await warden.request.get('/api/v1/audit/verify').set(key).expect(200);
    assert.equal(verdict.body.valid, true);
  });

  it('recovery gives new tokens; the superseded refresh token, presented again, revokes every token (reuse detection)', async () => {
    const agent = await registeredAgent();
    const boot = await bootstrap(await installToken(agent.id));
    const recovered = await warden.request
      .post('/api/v1/installations/recovery')
      .set(key)
      .send({
        agent_id: agent.sekuireId,
        workspace_id: workspaceId,
        upstream_url: 'http://my-agent:8000',
        capabilities: ['data_analysis'],
        heartbeat_interval_seconds: 60,
      })
      .expect(200);
    handled.push(recovered.body.runtime_token, recovered.body.refresh_token);
    assert.equal(recovered.body.installation_id, boot.installation_id);
    assert.notEqual(recovered.body.refresh_token, boot.refresh_token);
    await lease(boot.installation_id, boot.runtime_token).expect(401);
    await lease(boot.installation_id, recovered.body.runtime_token).expect(200);

    const reuse = await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/refresh`)
      .send({ refresh_token: boot.refresh_token })
      .expect(401);
    assert.equal(reuse.body.code, 'REFRESH_TOKEN_REUSED');
    await lease(boot.installation_id, recovered.body.runtime_token).expect(401);
    await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/refresh`)
      .send({ refresh_token: recovered.body.refresh_token })
      .expect(401);
    assert.ok(
      warden.logs.some((line) => line.installation_id === boot.installation_id && String(line.msg).includes('spent refresh token')),
    );
  });

  it('beacon: registers and replaces; another installation id is 404', async () => {
    const boot = await bootstrap(await installToken((await registeredAgent()).id));
    const res = await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/beacon/register`)
      .set(key)
      .send({ platform: 'kubernetes', metadata: { pod_name: 'agent-abc', namespace: 'prod' } })
      .expect(200);
    assert.deepEqual(res.body.metadata, { pod_name: 'agent-abc', namespace: 'prod' });
    await warden.request.post('/api/v1/installations/inst_nosuch/beacon/register').set(key).send({ platform: 'docker' }).expect(404);
    await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/beacon/register`)
      .set(key)
      .send({ platform: 'mainframe' })
      .expect(422);
  });

  it('a runtime token is 403 on management routes and on another installation; an API key cannot lease', async () => {
    const one = await bootstrap(await installToken((await registeredAgent()).id));
    const two = await bootstrap(await installToken((await registeredAgent()).id));
    const mgmt = await warden.request.get('/api/v1/agents').set('Authorization', `Bearer ${one.runtime_token}`).expect(403);
    assert.equal(mgmt.body.code, 'CREDENTIAL_NOT_ACCEPTED');
    await warden.request.get('/api/v1/auth/me').set('Authorization', `Bearer ${one.runtime_token}`).expect(403);
    const other = await lease(two.installation_id, one.runtime_token).expect(403);
    assert.equal(other.body.code, 'NOT_THIS_INSTALLATION');
    const byKey = await warden.request
      .post(`/api/v1/installations/${one.installation_id}/lease`)
      .set('Authorization', `Bearer ${org.key}`)
      .send({})
      .expect(403);
    assert.equal(byKey.body.code, 'CREDENTIAL_NOT_ACCEPTED');
  });

  it('revoking the agent: its installations lease shutdown, refresh and bootstrap are refused, no install token for it (409)', async () => {
    const agent = await registeredAgent();
    const spare = await installToken(agent.id);
    const boot = await bootstrap(await installToken(agent.id));
    await warden.request.post(`/api/v1/agents/${agent.id}/revoke`).set(key).expect(200);
    const res = await lease(boot.installation_id, boot.runtime_token).expect(200);
    assert.deepEqual(res.body.command, { type: 'shutdown', reason: 'agent revoked', timeout_ms: 0 });
    await warden.request
      .post(`/api/v1/installations/${boot.installation_id}/refresh`)
      .send({ refresh_token: boot.refresh_token })
      .expect(401);
    const refused = await warden.request.post('/api/v1/installations/bootstrap').send({ install_token: spare }).expect(401);
    assert.equal(refused.body.code, 'CREDENTIAL_REVOKED');
    const none = await warden.request
      .post(`/api/v1/workspaces/${workspaceId}/install-tokens`)
      .set(key)
      .send({ agent_id: agent.id })
      .expect(409);
    assert.equal(none.body.code, 'AGENT_STOPPED');
    await warden.request
      .post('/api/v1/installations/recovery')
      .set(key)
      .send({ agent_id: agent.id, workspace_id: workspaceId })
      .expect(409);
  });

  it('revoke racing leases: once the revoke has returned, no lease gets anything but shutdown', async () => {
    const agent = await registeredAgent();
    const boot = await bootstrap(await installToken(agent.id));
    const leases = Array.from({ length: 10 }, () => lease(boot.installation_id, boot.runtime_token));
    await warden.request.post(`/api/v1/agents/${agent.id}/revoke`).set(key).expect(200);
    await Promise.all(leases);
    for (let i = 0; i < 5; i++) {
      const res = await lease(boot.installation_id, boot.runtime_token).expect(200);
      assert.equal(res.body.command?.type, 'shutdown');
      assert.equal(res.body.refreshed_token, undefined);
    }
  });
});
