import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createTrustVerifier,
  createWardenClient,
  idempotencyKey,
  type Lease,
  retryAfterMs,
  SDK_VERSION,
  type ShutdownCommand,
  signTrustContext,
  signTrustHeaders,
  startAgentRuntime,
  unwrap,
  type WardenClient,
  type WardenClientOptions,
  WardenError,
} from '@warden/sdk';
import { PROJECT_ROOT } from '../src/config/paths';
import { keyProof, registerAgent } from './support/agents';
import { ContractChecker } from './support/contract-checker';
import { startHttpReceiver, status } from './support/http-receiver';
import { createOrg, createUserAndLogin, type TestOrg } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

/** Resolves when `probe` holds; the runtime works on timers, so the test waits for what it observes. */
async function until(probe: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('@warden/sdk against a real Warden on 127.0.0.1', () => {
  let warden: TestApp;
  let server: Server;
  let baseUrl: string;
  let org: TestOrg;
  let client: WardenClient;
  let workspaceId: string;
  /** fetch that checks every answer Warden gives the SDK against the spec, as the supertest client does. */
  let checkedFetch: (request: Request) => Promise<Response>;
  const connect = (options: Omit<WardenClientOptions, 'baseUrl'> = {}): WardenClient =>
    createWardenClient({ baseUrl, fetch: checkedFetch, ...options });

  before(async () => {
    warden = await startTestApp();
    server = createServer(warden.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const checker = new ContractChecker(warden.binding.spec, true);
    checkedFetch = async (request) => {
      const response = await fetch(request);
      const text = await response.clone().text();
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
      const body = type.includes('json') && text ? JSON.parse(text) : text;
      const seen = { status: response.status, headers: Object.fromEntries(response.headers), body, type };
      checker.check(request.method, request.url, seen as unknown as Parameters<ContractChecker['check']>[2]);
      return response;
    };
    org = await createOrg(warden, 'enterprise');
    client = connect({ apiKey: org.key });
    const ws = await unwrap(
      client.POST('/api/v1/orgs/{org_id}/workspaces', { params: { path: { org_id: org.id } }, body: { name: 'Prod' } }),
    );
    workspaceId = ws.id;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await warden.close();
  });

  it("its version is the spec's info.version, in package.json and in the code", () => {
    const spec = JSON.parse(readFileSync(join(PROJECT_ROOT, 'generated/openapi.json'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'packages/sdk/package.json'), 'utf8'));
    assert.equal(pkg.version, spec.info.version);
    assert.equal(SDK_VERSION, spec.info.version);
  });

  it('calls typed operations with an API key, a login JWT or an agent secret', async () => {
    const agent = await registerAgent(warden, org.key);
    const { data, error } = await client.GET('/api/v1/agents/{id}', { params: { path: { id: agent.id } } });
    assert.equal(error, undefined);
    assert.equal(data?.sekuire_id, agent.sekuireId);

    const user = await createUserAndLogin(warden, org, 'sdk-user@example.com', 'admin');
    const asUser = connect({ token: user.token });
    const me = await unwrap(asUser.GET('/api/v1/auth/me'));
    assert.equal(me.type, 'user');
    assert.equal(me.user?.email, 'sdk-user@example.com');

    const minted = await unwrap(client.POST('/api/v1/agents', { body: { name: 'billing-bot' } }));
    const asAgent = connect({ agentSecret: minted.agent_secret });
    const beat = await asAgent.POST('/api/v1/agents/{id}/heartbeat', { params: { path: { id: minted.id } } });
    assert.equal(beat.response.status, 204);
  });

  it("a refusal is Warden's error body; unwrap throws it as a WardenError with code, details and request_id", async () => {
    const { data, error, response } = await client.GET('/api/v1/agents/{id}', { params: { path: { id: 'agt_missing' } } });
    assert.equal(data, undefined);
    assert.equal(response.status, 404);
    assert.equal(error?.code, 'AGENT_NOT_FOUND');

    const invalid = await unwrap(client.POST('/api/v1/agents', { body: { name: '' } })).catch((caught: unknown) => caught);
    assert.ok(invalid instanceof WardenError);
    assert.equal(invalid.status, 422);
    assert.equal(invalid.code, 'VALIDATION_FAILED');
    assert.ok(invalid.details?.some((detail) => JSON.stringify(detail).includes('name')));
    assert.match(invalid.requestId, /^req_/);

    const anonymous = connect();
    const refused = await unwrap(anonymous.GET('/api/v1/agents')).catch((caught: unknown) => caught);
    assert.ok(refused instanceof WardenError);
    assert.equal(refused.code, 'CREDENTIAL_MISSING');
  });

  it('paginate walks every cursor page as one async iterator', async () => {
    const own = await createOrg(warden, 'enterprise', 'Paged org');
    const paged = connect({ apiKey: own.key });
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await unwrap(paged.POST('/api/v1/agents', { body: { name: `bot-${i}` } }))).id);
    const seen: string[] = [];
    for await (const agent of paged.paginate('/api/v1/agents', { params: { query: { limit: 2 } } })) seen.push(agent.id);
    assert.deepEqual([...seen].sort(), [...made].sort());
    assert.equal(new Set(seen).size, 7, 'no item twice across pages');

    const keys: string[] = [];
    for await (const key of paged.paginate('/api/v1/api-keys')) keys.push(key.id);
    assert.deepEqual(keys, [own.keyId]);

    const anonymous = connect();
    await assert.rejects(
      anonymous.paginate('/api/v1/agents').next(),
      (thrown: unknown) => thrown instanceof WardenError && thrown.status === 401,
    );
  });

  it('retries 429 and 503 as Retry-After asks, replaying the body, device and Idempotency-Key; a long Retry-After is returned', async () => {
    const receiver = await startHttpReceiver();
    try {
      const device = 'a1b2'.repeat(16);
      const flaky = createWardenClient({ baseUrl: receiver.url(''), apiKey: org.key, device, retry: { baseDelayMs: 1 } });
      receiver.reply(status(429, { 'Retry-After': '0' }), status(503), status(201, {}, '{"id":"agt_1"}'));
      const headers = idempotencyKey();
      const { data, response } = await flaky.POST('/api/v1/agents', { body: { name: 'retried' }, headers });
      assert.equal(response.status, 201);
      assert.deepEqual(data, { id: 'agt_1' });
      assert.equal(receiver.requests.length, 3);
      for (const request of receiver.requests) {
        assert.equal(request.body, '{"name":"retried"}');
        assert.equal(request.headers['idempotency-key'], headers['Idempotency-Key']);
        assert.equal(request.headers['x-api-key'], org.key);
        assert.equal(request.headers['x-warden-device'], device, 'a device-bound key names its device');
        assert.match(request.headers['user-agent'] ?? '', /^warden-sdk\/\d+\.\d+\.\d+$/);
      }

      receiver.reset();
      receiver.reply(status(429, { 'Retry-After': '3600' }, '{"error":"rate_limited","message":"Slow down.","code":"RATE_LIMITED"}'));
      const limited = await flaky.GET('/api/v1/agents');
      assert.equal(limited.response.status, 429, 'an hour is beyond the bound: the answer comes back');
      assert.equal(limited.error?.code, 'RATE_LIMITED');
      assert.equal(receiver.requests.length, 1);

      receiver.reset();
      receiver.reply(status(503), status(503), status(503), status(503));
      const down = await flaky.GET('/api/v1/agents');
      assert.equal(down.response.status, 503);
      assert.equal(receiver.requests.length, 4, 'the first attempt and three retries');

      const inTwoSeconds = retryAfterMs(new Date(Date.now() + 2000).toUTCString());
      assert.ok(inTwoSeconds !== undefined && inTwoSeconds > 0 && inTwoSeconds <= 2000, 'Retry-After as an HTTP date');
      assert.equal(retryAfterMs('soon'), undefined);
      assert.notEqual(idempotencyKey()['Idempotency-Key'], idempotencyKey()['Idempotency-Key']);
      assert.deepEqual(idempotencyKey('order-42'), { 'Idempotency-Key': 'order-42' });
    } finally {
      await receiver.close();
    }
  });

  async function installToken(agentId: string): Promise<string> {
    const created = await unwrap(
      client.POST('/api/v1/workspaces/{workspace_id}/install-tokens', {
        params: { path: { workspace_id: workspaceId } },
        body: { agent_id: agentId },
      }),
    );
    return created.token;
  }

  it('agent runtime: bootstrap → lease renewals on a timer → kill switch → the shutdown callback fires once', async () => {
    const agent = await registerAgent(warden, org.key);
    const leases: Lease[] = [];
    const shutdowns: ShutdownCommand[] = [];
    const stored: string[] = [];
    const runtime = await startAgentRuntime({
      baseUrl,
      fetch: checkedFetch,
      installToken: await installToken(agent.id),
      upstreamUrl: 'http://my-agent:8000',
      capabilities: ['data_analysis'],
      renewEveryMs: 50,
      health: () => ({ memory_mb: 256 }),
      onLease: (lease) => leases.push(lease),
      onCredentials: (credentials) => void stored.push(credentials.runtimeToken),
      onShutdown: (command) => void shutdowns.push(command),
    });
    try {
      assert.match(runtime.installationId, /^inst_/);
      assert.deepEqual(stored, [runtime.credentials.runtimeToken], 'the bootstrapped credentials are handed over to persist');
      await until(() => leases.length >= 3, 'three leases');
      assert.ok(leases.every((lease) => lease.command === null && lease.installation_id === runtime.installationId));
      const [row] = await warden.database.dataSource.query(`SELECT reported_status, health_payload FROM installations WHERE id = $1`, [
        runtime.installationId,
      ]);
      assert.deepEqual(row, { reported_status: 'running', health_payload: { memory_mb: 256 } });

      await unwrap(
        client.POST('/api/v1/kill-switch/{agent_id}', { params: { path: { agent_id: agent.id } }, body: { reason: 'Runaway spend' } }),
      );
      await until(() => shutdowns.length > 0, 'the shutdown callback');
      assert.equal(shutdowns[0]?.type, 'shutdown');
      assert.equal(runtime.status, 'shutting_down');
      const leasesAtShutdown = leases.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(leases.length, leasesAtShutdown, 'no lease after the command');
      assert.equal(shutdowns.length, 1);
    } finally {
      runtime.stop();
    }
  });

  it('agent runtime: takes a rotated token from the lease, refreshes an expired one, and resumes from stored credentials', async () => {
    const agent = await registerAgent(warden, org.key);
    const shutdowns: ShutdownCommand[] = [];
    const errors: unknown[] = [];
    const options = {
      baseUrl,
      onShutdown: (command: ShutdownCommand) => void shutdowns.push(command),
      onError: (e: unknown) => errors.push(e),
    };
    const runtime = await startAgentRuntime({ ...options, installToken: await installToken(agent.id), renewEveryMs: 60_000 });
    try {
      const booted = runtime.credentials;
      // Within 7 days of expiry, the next lease hands out a replacement.
      await warden.database.dataSource.query(`UPDATE runtime_tokens SET expires_at = now() + interval '1 day' WHERE installation_id = $1`, [
        runtime.installationId,
      ]);
      const rotated = await runtime.renew();
      assert.equal(rotated.refreshed_token?.runtime_token, runtime.credentials.runtimeToken);
      assert.notEqual(runtime.credentials.runtimeToken, booted.runtimeToken);
      assert.equal(runtime.credentials.refreshToken, booted.refreshToken, 'a rotation keeps the refresh token');

      // An expired runtime token: the runtime refreshes (both tokens rotate) and the lease goes through.
      await warden.database.dataSource.query(
        `UPDATE runtime_tokens SET expires_at = now() - interval '1 second' WHERE installation_id = $1`,
        [runtime.installationId],
      );
      const beforeRefresh = runtime.credentials;
      const lease = await runtime.renew();
      assert.equal(lease.command, null);
      assert.notEqual(runtime.credentials.runtimeToken, beforeRefresh.runtimeToken);
      assert.notEqual(runtime.credentials.refreshToken, beforeRefresh.refreshToken);
      const asOldToken = connect({ token: beforeRefresh.runtimeToken });
      const stale = await asOldToken.POST('/api/v1/installations/{id}/lease', { params: { path: { id: runtime.installationId } } });
      assert.equal(stale.response.status, 401);
      runtime.stop();

      // A restarted process resumes with what it persisted; no install token needed.
      const resumed = await startAgentRuntime({ ...options, credentials: runtime.credentials, renewEveryMs: 60_000 });
      assert.equal(resumed.installationId, runtime.installationId);
      await unwrap(
        client.POST('/api/v1/installations/{id}/revoke', {
          params: { path: { id: resumed.installationId } },
          body: { reason: 'Host decommissioned', shutdown_timeout_ms: 0 },
        }),
      );
      const last = await resumed.renew();
      assert.deepEqual(last.command, { type: 'shutdown', reason: 'Host decommissioned', timeout_ms: 0 });
      assert.deepEqual(shutdowns, [last.command]);
      assert.deepEqual(errors, []);
    } finally {
      runtime.stop();
    }
  });

  it('agent runtime: a spent install token is refused with its code', async () => {
    const token = await installToken((await registerAgent(warden, org.key)).id);
    await warden.database.dataSource.query(`UPDATE install_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`);
    const refused = await startAgentRuntime({ baseUrl, fetch: checkedFetch, installToken: token, onShutdown: () => undefined }).catch(
      (e: unknown) => e,
    );
    assert.ok(refused instanceof WardenError);
    assert.equal(refused.status, 401);
    assert.match(refused.code, /^INSTALL_TOKEN_/);
  });

  it('trust: Warden signs headers for a proven agent; a receiver verifies them with the JWKS, refusing tampering and replays', async () => {
    const agent = await registerAgent(warden, org.key, 'Trusted');
    await unwrap(client.POST('/api/v1/agents/{id}/verify', { params: { path: { id: agent.id } }, body: keyProof(agent, org.id) }));
    const body = JSON.stringify({ amount: 42 });
    const signed = await signTrustHeaders(client, agent.sekuireId, body);
    assert.equal(signed.headers['X-Warden-Agent'], `did:sekuire:${agent.sekuireId}`);

    const receiver = createTrustVerifier({ baseUrl, fetch: checkedFetch });
    const verdict = await receiver.verify(signed.headers, body);
    assert.equal(verdict.valid, true);
    assert.equal(verdict.valid && verdict.sekuireId, agent.sekuireId);
    assert.deepEqual(await receiver.verify(signed.headers, body), { valid: false, reason: 'replayed' });

    const fresh = createTrustVerifier({ baseUrl, fetch: checkedFetch });
    assert.deepEqual(await fresh.verify(signed.headers, JSON.stringify({ amount: 4200 })), { valid: false, reason: 'body_mismatch' });
    const forged = { ...signed.headers, 'X-Warden-Agent': `did:sekuire:${'0'.repeat(64)}` };
    assert.deepEqual(await fresh.verify(forged, body), { valid: false, reason: 'signature_invalid' });
    const lowercase = Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value]));
    assert.equal((await fresh.verify(lowercase, body)).valid, true, 'header names are case-insensitive');
    const { 'X-Warden-Signature': _dropped, ...unsigned } = signed.headers;
    assert.deepEqual(await fresh.verify(unsigned, body), { valid: false, reason: 'missing_header' });

    const old = createTrustVerifier({ baseUrl, fetch: checkedFetch, maxAgeMs: -1 });
    assert.deepEqual(await old.verify(signed.headers, body), { valid: false, reason: 'expired' });

    const proof = signTrustContext(agent.privateKey, agent.sekuireId, { purpose: 'sdk-test' });
    const checked = await unwrap(client.POST('/api/v1/trust/verify', { body: proof }));
    assert.equal(checked.valid, true);
    assert.ok(checked.reasons.includes('signature_valid'));
  });
});
