import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withRequestFacts } from '../src/audit/audit-event';
import type { Principal } from '../src/auth/principal';
import { Notifications } from '../src/db/notifications';
import { createLogger } from '../src/logging/logger';
import { type Job, type JobLifecycle, JobService } from '../src/modules/jobs';
import { auditEventsOf, createOrg, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Agent {
  id: string;
  secret: string;
  headers: { 'X-Agent-Secret': string };
}

describe('jobs: enqueue, claim (SKIP LOCKED, long-poll), lease expiry, complete (seed 002)', () => {
  let warden: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let key: { 'X-API-Key': string };

  before(async () => {
    // A quarter of 4 org slots: each agent may hold one wait.
    warden = await startTestApp({ config: { jobs: { visibilityTimeoutSeconds: 300, maxWaits: 100, maxWaitsPerOrg: 4 } } });
    org = await createOrg(warden);
    other = await createOrg(warden, 'enterprise', 'Other org');
    key = { 'X-API-Key': org.key };
  });
  after(() => warden.close());

  const mint = async (owner: TestOrg, name: string): Promise<Agent> => {
    const res = await warden.request.post('/api/v1/agents').set('X-API-Key', owner.key).send({ name }).expect(201);
    return { id: res.body.id, secret: res.body.agent_secret, headers: { 'X-Agent-Secret': res.body.agent_secret } };
  };
  const enqueue = async (fields: Record<string, unknown>, owner: TestOrg = org) =>
    (
      await warden.request
        .post('/api/v1/jobs')
        .set('X-API-Key', owner.key)
        .send({ cluster_name: 'prod-eu-1', kind: 'custom', payload: { action: 'rotate' }, ...fields })
        .expect(201)
    ).body;
  const claim = (agent: Agent, wait = 0) => warden.request.post(`/api/v1/agents/${agent.id}/jobs/claim?wait=${wait}`).set(agent.headers);
  const complete = (agent: Agent, jobId: string, body: Record<string, unknown> = { status: 'completed' }) =>
    warden.request.post(`/api/v1/agents/${agent.id}/jobs/${jobId}/complete`).set(agent.headers).send(body);
  /** As if the visibility timeout had passed: the lease ends a moment ago. */
  const expireLease = (jobId: string) =>
    warden.database.dataSource.query(`UPDATE jobs SET visible_at = now() - interval '1 second' WHERE id = $1`, [jobId]);
  /** The agent reports a secret of the cluster, and so serves it. */
  const serve = async (agent: Agent, cluster: string) =>
    warden.request
      .post(`/api/v1/agents/${agent.id}/secrets/bulk`)
      .set(agent.headers)
      .send({ secrets: [{ cluster_name: cluster, provider: 'kubernetes', ref: `payments/db-${agent.id}` }] })
      .expect(200);
  /** Starts a request now (supertest sends only once awaited). */
  const started = <T>(request: PromiseLike<T>) => Promise.resolve().then(() => request);

  it('an admin enqueues a job (201, audited); it is listed and read back; payloads are bounded; job.create is needed', async () => {
    const agent = await mint(org, 'enqueue-target');
    const res = await warden.request
      .post('/api/v1/jobs')
      .set(key)
      .send({ cluster_name: 'prod-eu-1', kind: 'custom', payload: { action: 'rotate', namespace: 'payments' }, agent_id: agent.id })
      .expect(201);
    assert.match(res.body.id, /^job_/);
    assert.deepEqual(
      { ...res.body, id: undefined, created_at: undefined },
      {
        id: undefined,
        kind: 'custom',
        status: 'queued',
        cluster_name: 'prod-eu-1',
        agent_id: agent.id,
        request_id: null,
        payload: { action: 'rotate', namespace: 'payments' },
        attempts: 0,
        max_attempts: 3,
        claimed_at: null,
        lease_expires_at: null,
        completed_at: null,
        error: null,
        created_at: undefined,
      },
    );
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'job.created');
    assert.equal(event.resource_id, res.body.id);

    const read = await warden.request.get(`/api/v1/jobs/${res.body.id}`).set(key).expect(200);
    assert.deepEqual(read.body, res.body);
    const listed = await warden.request.get(`/api/v1/jobs?agent_id=${agent.id}&status=queued`).set(key).expect(200);
    assert.deepEqual(
      listed.body.jobs.map((job: { id: string }) => job.id),
      [res.body.id],
    );
    const page = await warden.request.get('/api/v1/jobs?limit=1').set(key).expect(200);
    assert.equal(page.body.has_more, false);
    await warden.request.get('/api/v1/jobs?cursor=not-a-cursor').set(key).expect(400);
    await warden.request.get('/api/v1/jobs/not-a-job').set(key).expect(400);
    await warden.request.get('/api/v1/jobs/job_unknown').set(key).expect(404);

    const deep = { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } };
    const tooDeep = await warden.request
      .post('/api/v1/jobs')
      .set(key)
      .send({ cluster_name: 'c', kind: 'custom', payload: deep })
      .expect(422);
    assert.equal(tooDeep.body.code, 'JOB_PAYLOAD_TOO_LARGE');
    const big = { blob: 'x'.repeat(17_000) };
    const tooBig = await warden.request.post('/api/v1/jobs').set(key).send({ cluster_name: 'c', kind: 'custom', payload: big }).expect(422);
    assert.equal(tooBig.body.code, 'JOB_PAYLOAD_TOO_LARGE');
    await warden.request.post('/api/v1/jobs').set(key).send({ cluster_name: 'c', kind: 'exfiltrate', payload: {} }).expect(422);
    // Reading or patching a secret goes only through an approved access request: an admin cannot enqueue one.
    for (const kind of ['read', 'patch']) {
      const forged = await warden.request
        .post('/api/v1/jobs')
        .set(key)
        .send({ cluster_name: 'c', kind, payload: { value: 'hunter2', request_id: 'acr_01jd4v3k8m2q6r9t1w5y7z0abc' } })
        .expect(422);
      assert.equal(forged.body.code, 'VALIDATION_FAILED', kind);
    }
    const forgedJobs = await warden.request.get('/api/v1/jobs?cluster_name=c').set(key).expect(200);
    assert.deepEqual(forgedJobs.body.jobs, []);
    await warden.request.post('/api/v1/jobs').set(key).set('content-type', 'application/json').send('{"cluster_name":').expect(400);
    await warden.request.post('/api/v1/jobs').send({ cluster_name: 'c', kind: 'custom', payload: {} }).expect(401);

    const readOnly = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'jobs reader', permissions: ['job.read'] })
      .expect(201);
    const denied = await warden.request
      .post('/api/v1/jobs')
      .set('X-API-Key', readOnly.body.key)
      .send({ cluster_name: 'c', kind: 'custom', payload: {} })
      .expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    await warden.request.get(`/api/v1/jobs/${res.body.id}`).set('X-API-Key', readOnly.body.key).expect(200);
    const noRead = await warden.request
      .post('/api/v1/api-keys')
      .set(key)
      .send({ name: 'agents only', permissions: ['agent.read'] })
      .expect(201);
    await warden.request.get('/api/v1/jobs').set('X-API-Key', noRead.body.key).expect(403);
    await warden.request.get(`/api/v1/jobs/${res.body.id}`).set('X-API-Key', noRead.body.key).expect(403);
    await warden.request.get('/api/v1/jobs').expect(401);
    await warden.request.get(`/api/v1/jobs/${res.body.id}`).expect(401);
  });

  it('an agent claims the job pinned to it (200, job.claimed audited); an empty poll is 204 and writes no audit event', async () => {
    const agent = await mint(org, 'claimer');
    const job = await enqueue({ agent_id: agent.id });
    const res = await claim(agent).expect(200);
    assert.equal(res.body.id, job.id);
    assert.equal(res.body.status, 'claimed');
    assert.equal(res.body.agent_id, agent.id);
    assert.equal(res.body.attempts, 1);
    const lease = Date.parse(res.body.lease_expires_at) - Date.parse(res.body.claimed_at);
    assert.ok(Math.abs(lease - 300_000) < 2000, `lease of ${lease} ms`);
    const event = await theAuditEventOf(warden, res);
    assert.deepEqual(
      { action: event.action, actor: [event.actor_type, event.actor_id], resource: event.resource_id },
      { action: 'job.claimed', actor: ['agent', agent.id], resource: job.id },
    );

    const empty = await claim(agent).expect(204);
    assert.deepEqual(await auditEventsOf(warden, empty), []);
    await warden.request.post(`/api/v1/agents/${agent.id}/jobs/claim?wait=31`).set(agent.headers).expect(400);
    await warden.request.post(`/api/v1/agents/${agent.id}/jobs/claim`).expect(401);

    const done = await complete(agent, job.id).expect(204);
    const completed = await theAuditEventOf(warden, done);
    assert.deepEqual([completed.action, completed.resource_id], ['job.completed', job.id]);
    const read = await warden.request.get(`/api/v1/jobs/${job.id}`).set(key).expect(200);
    assert.equal(read.body.status, 'completed');
    assert.equal(read.body.lease_expires_at, null);
    assert.ok(read.body.completed_at);
  });

  it('claims racing for the same jobs: each job goes to exactly one claim, the rest get 204', async () => {
    const agent = await mint(org, 'racer');
    const jobs = await Promise.all([0, 1, 2, 3, 4].map(() => enqueue({ agent_id: agent.id })));
    const answers = await Promise.all(Array.from({ length: 8 }, () => claim(agent)));
    const won = answers.filter((res) => res.status === 200).map((res) => res.body.id as string);
    assert.deepEqual(answers.map((res) => res.status).sort(), [200, 200, 200, 200, 200, 204, 204, 204]);
    assert.deepEqual(new Set(won), new Set(jobs.map((job) => job.id)));
    // Exactly one completion of a job wins.
    const completions = await Promise.all([0, 1, 2].map(() => complete(agent, won[0]!)));
    assert.deepEqual(completions.map((res) => res.status).sort(), [204, 409, 409]);
  });

  it('N agents serving a cluster race for its jobs: each job goes to exactly one agent; other clusters and pins are left alone', async () => {
    const racers = await Promise.all([0, 1, 2, 3].map((i) => mint(org, `cluster-racer-${i}`)));
    for (const racer of racers) await serve(racer, 'race-cluster');
    const outsider = await mint(org, 'other-cluster');
    await serve(outsider, 'elsewhere');
    const jobs = await Promise.all(Array.from({ length: 6 }, () => enqueue({ cluster_name: 'race-cluster' })));
    const elsewhere = await enqueue({ cluster_name: 'elsewhere' });
    const pinned = await enqueue({ cluster_name: 'race-cluster', agent_id: outsider.id });
    const answers = await Promise.all(racers.flatMap((racer) => [claim(racer), claim(racer)]));
    assert.deepEqual(answers.map((res) => res.status).sort(), [200, 200, 200, 200, 200, 200, 204, 204]);
    const won = answers.filter((res) => res.status === 200);
    assert.deepEqual(new Set(won.map((res) => res.body.id)), new Set(jobs.map((job) => job.id)));
    for (const res of won) assert.ok(racers.some((racer) => racer.id === res.body.agent_id));
    const outsiderGets = await claim(outsider).expect(200);
    const outsiderNext = await claim(outsider).expect(200);
    assert.deepEqual(new Set([outsiderGets.body.id, outsiderNext.body.id]), new Set([elsewhere.id, pinned.id]));
  });

  it('a job whose lease ran out goes to another agent; the first one can no longer complete it (409)', async () => {
    const [first, second] = [await mint(org, 'slow'), await mint(org, 'quick')];
    await serve(first, 'handover-cluster');
    await serve(second, 'handover-cluster');
    const job = await enqueue({ cluster_name: 'handover-cluster' });
    await claim(first).expect(200);
    await claim(second).expect(204);
    await expireLease(job.id);
    const taken = await claim(second).expect(200);
    assert.deepEqual([taken.body.id, taken.body.agent_id, taken.body.attempts], [job.id, second.id, 2]);
    const late = await complete(first, job.id).expect(409);
    assert.equal(late.body.code, 'JOB_NOT_HELD');
    await complete(second, job.id).expect(204);
  });

  it('a lease that runs out returns the job to the queue; after its last attempt it fails for good (job.failed)', async () => {
    const agent = await mint(org, 'forgetful');
    const job = await enqueue({ agent_id: agent.id, max_attempts: 2 });
    const first = await claim(agent).expect(200);
    assert.equal(first.body.attempts, 1);
    await expireLease(job.id);
    const requeued = await warden.request.get(`/api/v1/jobs/${job.id}`).set(key).expect(200);
    assert.equal(requeued.body.status, 'queued');
    assert.equal(requeued.body.lease_expires_at, null);
    // Too late: the lease ran out, so the agent no longer holds it.
    const late = await complete(agent, job.id).expect(409);
    assert.equal(late.body.code, 'JOB_NOT_HELD');

    const second = await claim(agent).expect(200);
    assert.deepEqual([second.body.id, second.body.attempts], [job.id, 2]);
    await expireLease(job.id);
    const shown = await warden.request.get(`/api/v1/jobs/${job.id}?`).set(key).expect(200);
    assert.equal(shown.body.status, 'failed');
    const failedList = await warden.request.get(`/api/v1/jobs?status=failed&agent_id=${agent.id}`).set(key).expect(200);
    assert.deepEqual(
      failedList.body.jobs.map((row: { id: string }) => row.id),
      [job.id],
    );

    // The next claim fails it in the table, writes its event, and finds nothing else.
    const none = await claim(agent).expect(204);
    const events = await auditEventsOf(warden, none);
    assert.deepEqual(
      events.map((event) => [event.action, event.actor_type, event.resource_id]),
      [['job.failed', 'system', job.id]],
    );
    const [row] = await warden.database.dataSource.query(`SELECT status, error, attempts FROM jobs WHERE id = $1`, [job.id]);
    assert.deepEqual(row, { status: 'failed', error: 'The lease expired on the last of 2 attempts.', attempts: 2 });
    await complete(agent, job.id).expect(409);
  });

  it('completing a job the agent does not hold is 409; an unknown job 404; an error only with failed (422)', async () => {
    const holder = await mint(org, 'holder');
    const bystander = await mint(org, 'bystander');
    const job = await enqueue({ agent_id: holder.id });
    await claim(holder).expect(200);
    const notMine = await complete(bystander, job.id).expect(409);
    assert.equal(notMine.body.code, 'JOB_NOT_HELD');
    const unknown = await complete(holder, 'job_doesnotexist').expect(404);
    assert.equal(unknown.body.code, 'JOB_NOT_FOUND');
    await warden.request
      .post(`/api/v1/agents/${holder.id}/jobs/not-a-job/complete`)
      .set(holder.headers)
      .send({ status: 'completed' })
      .expect(400);
    await complete(holder, job.id, { status: 'completed', error: 'nothing wrong' }).expect(422);
    await complete(holder, job.id, { status: 'done' }).expect(422);
    await warden.request.post(`/api/v1/agents/${holder.id}/jobs/${job.id}/complete`).send({ status: 'completed' }).expect(401);

    const error = `vault: permission denied ${'x'.repeat(900)}`;
    const failed = await complete(holder, job.id, { status: 'failed', error }).expect(204);
    const event = await theAuditEventOf(warden, failed);
    assert.deepEqual([event.action, event.details.error], ['job.failed', error]);
    await complete(holder, job.id, { status: 'failed', error: 'x'.repeat(1001) }).expect(422);
    const again = await complete(holder, job.id, { status: 'completed' }).expect(409);
    assert.equal(again.body.code, 'JOB_NOT_HELD');
    const read = await warden.request.get(`/api/v1/jobs/${job.id}`).set(key).expect(200);
    assert.deepEqual([read.body.status, read.body.error], ['failed', error]);
    // The agent's error text is no log line's content.
    assert.ok(!JSON.stringify(warden.logs).includes('vault: permission denied'));
  });

  it("the face: enqueue in the caller's transaction wakes a waiting claim once committed; heldBy names the request's held job", async () => {
    const agent = await mint(org, 'request-worker');
    await serve(agent, 'request-cluster');
    const waiting = started(claim(agent, 20));
    await sleep(300);
    const enqueued = await warden.services.db.transaction(() =>
      warden.services.jobs.enqueue({
        orgId: org.id,
        clusterName: 'request-cluster',
        kind: 'read',
        requestId: 'acr_01jd4v3k8m2q6r9t1w5y7z0abc',
        payload: { provider: 'kubernetes', ref: 'payments/db-credentials' },
      }),
    );
    assert.equal(enqueued.status, 'queued');
    const res = await waiting;
    assert.deepEqual([res.status, res.body.id, res.body.request_id], [200, enqueued.id, 'acr_01jd4v3k8m2q6r9t1w5y7z0abc']);
    const held = await warden.services.jobs.heldBy(org.id, agent.id, 'acr_01jd4v3k8m2q6r9t1w5y7z0abc');
    assert.equal(held?.id, enqueued.id);
    assert.equal(await warden.services.jobs.heldBy(other.id, agent.id, 'acr_01jd4v3k8m2q6r9t1w5y7z0abc'), undefined);
    await complete(agent, enqueued.id).expect(204);
    assert.equal(await warden.services.jobs.heldBy(org.id, agent.id, 'acr_01jd4v3k8m2q6r9t1w5y7z0abc'), undefined);
  });

  it('the lifecycle of a request job hears of its claim, completion and final failure, each inside that transaction', async () => {
    const heard: Array<[string, string, string, boolean]> = [];
    const { db, orgs, agents, audit } = warden.services;
    const lifecycle: JobLifecycle = {
      claimed: async (job: Job) => void heard.push(['claimed', job.id, job.status, db.inTransaction]),
      settled: async (job: Job) => void heard.push(['settled', job.id, job.status, db.inTransaction]),
    };
    const options = { visibilityTimeoutSeconds: 300, maxWaits: 10, maxWaitsPerOrg: 10, pollIntervalMs: 250 };
    const jobs = new JobService(
      db,
      orgs,
      agents,
      audit,
      new Notifications(null, createLogger('silent')),
      createLogger('silent'),
      options,
      () => ({ clusters: warden.services.secrets, lifecycle }),
    );
    const agent = await mint(org, 'hooked');
    await serve(agent, 'hooks-cluster');
    const principal = { kind: 'agent', orgId: org.id, agentId: agent.id, permissions: new Set<string>() } as unknown as Principal;
    const request = { orgId: org.id, clusterName: 'hooks-cluster', kind: 'patch' as const, payload: {} };
    const done = await jobs.enqueue({ ...request, requestId: 'acr_done' });
    const lost = await jobs.enqueue({ ...request, requestId: 'acr_lost' });
    const plain = await jobs.enqueue({ ...request, requestId: null });
    assert.equal((await jobs.claim(principal, agent.id, { seconds: 0 }))?.id, done.id);
    await jobs.complete(principal, agent.id, done.id, { status: 'completed' });
    assert.equal((await jobs.claim(principal, agent.id, { seconds: 0 }))?.id, lost.id);
    await warden.database.dataSource.query(
      `UPDATE jobs SET visible_at = now() - interval '1 second', attempts = max_attempts WHERE id = $1`,
      [lost.id],
    );
    assert.equal((await jobs.claim(principal, agent.id, { seconds: 0 }))?.id, plain.id);
    assert.deepEqual(heard, [
      ['claimed', done.id, 'claimed', true],
      ['settled', done.id, 'completed', true],
      ['claimed', lost.id, 'claimed', true],
      ['settled', lost.id, 'failed', true],
    ]);
  });

  it('claims made at once share one transaction and one statement, each answered as if it had claimed alone', async () => {
    const { jobs } = warden.services;
    const names = ['first', 'second', 'pinned', 'stopped', 'elsewhere', 'idle'];
    const [first, second, pinnedTo, stopped, elsewhere, idle] = (await Promise.all(names.map((name) => mint(org, `batch-${name}`)))) as [
      Agent,
      Agent,
      Agent,
      Agent,
      Agent,
      Agent,
    ];
    for (const agent of [first, second, stopped]) await serve(agent, 'batch-cluster');
    await serve(elsewhere, 'batch-elsewhere');
    const pinned = await enqueue({ cluster_name: 'batch-cluster', agent_id: pinnedTo.id });
    const queue = [];
    for (let i = 0; i < 3; i++) queue.push(await enqueue({ cluster_name: 'batch-cluster' }));
    const far = await enqueue({ cluster_name: 'batch-elsewhere' });
    const stoppedOwn = await enqueue({ cluster_name: 'batch-cluster', agent_id: stopped.id });
    await warden.request.post(`/api/v1/kill-switch/${stopped.id}`).set(key).send({ reason: 'compromised' }).expect(200);
    const principal = (agent: Agent) =>
      ({ kind: 'agent', orgId: org.id, agentId: agent.id, permissions: new Set<string>() }) as unknown as Principal;
    const claimAs = (agent: Agent, n: number) =>
      withRequestFacts({ requestId: `req_batch_${n}`, ip: '127.0.0.1', userAgent: 'batch' }, () =>
        jobs.claim(principal(agent), agent.id, { seconds: 0 }),
      );
    // The first claim runs alone; the seven made while it runs go together, in this order.
    const order = [idle, first, pinnedTo, second, stopped, elsewhere, first, second];
    const answers = await Promise.all(order.map((agent, n) => claimAs(agent, n)));
    assert.deepEqual(
      answers.map((job) => job?.id),
      [undefined, queue[0]!.id, pinned.id, queue[1]!.id, undefined, far.id, queue[2]!.id, undefined],
    );
    // One transaction: one now() for every claim of the batch.
    assert.equal(new Set(answers.flatMap((job) => (job ? [job.claimed_at] : []))).size, 1);
    for (const [n, job] of answers.entries()) {
      if (!job) continue;
      assert.deepEqual([job.status, job.agent_id, job.attempts], ['claimed', order[n]!.id, 1]);
      const events = await warden.auditRows(`SELECT action, actor_id, resource_id FROM audit_events WHERE request_id = $1 ORDER BY seq`, [
        `req_batch_${n}`,
      ]);
      assert.deepEqual(events, [{ action: 'job.claimed', actor_id: order[n]!.id, resource_id: job.id }]);
    }
    const untouched = await warden.request.get(`/api/v1/jobs/${stoppedOwn.id}`).set(key).expect(200);
    assert.deepEqual([untouched.body.status, untouched.body.attempts], ['queued', 0]);
    const verified = await warden.request.get('/api/v1/audit/verify').set(key).expect(200);
    assert.equal(verified.body.valid, true);
  });

  it('a claim that fails in a batch fails alone: the others of its batch get their jobs, its job stays queued', async () => {
    const { db, orgs, agents, audit, secrets } = warden.services;
    const lifecycle: JobLifecycle = {
      claimed: async (job: Job) => {
        if (job.request_id === 'acr_batchbad') throw new Error('the request cannot start');
      },
      settled: async () => undefined,
    };
    const options = { visibilityTimeoutSeconds: 300, maxWaits: 10, maxWaitsPerOrg: 10, pollIntervalMs: 250 };
    const silent = createLogger('silent');
    const jobs = new JobService(db, orgs, agents, audit, new Notifications(null, silent), silent, options, () => ({
      clusters: secrets,
      lifecycle,
    }));
    const names = ['idle', 'bad', 'good', 'better'];
    const [idle, bad, good, better] = (await Promise.all(names.map((name) => mint(org, `failing-${name}`)))) as [
      Agent,
      Agent,
      Agent,
      Agent,
    ];
    const request = { orgId: org.id, clusterName: 'failing-cluster', kind: 'read' as const, payload: {} };
    const badJob = await jobs.enqueue({ ...request, requestId: 'acr_batchbad', agentId: bad.id });
    const goodJob = await jobs.enqueue({ ...request, requestId: 'acr_batchgood', agentId: good.id });
    const betterJob = await jobs.enqueue({ ...request, requestId: null, agentId: better.id });
    const principal = (agent: Agent) =>
      ({ kind: 'agent', orgId: org.id, agentId: agent.id, permissions: new Set<string>() }) as unknown as Principal;
    const outcomes = await Promise.allSettled(
      [idle, good, bad, better].map((agent) => jobs.claim(principal(agent), agent.id, { seconds: 0 })),
    );
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value?.id : (outcome.reason as Error).message)),
      [undefined, goodJob.id, 'the request cannot start', betterJob.id],
    );
    const read = await warden.request.get(`/api/v1/jobs/${badJob.id}`).set(key).expect(200);
    assert.deepEqual([read.body.status, read.body.attempts], ['queued', 0]);
    const claimedEvents = await warden.auditRows(
      `SELECT resource_id FROM audit_events WHERE action = 'job.claimed' AND resource_id = ANY ($1) ORDER BY resource_id`,
      [[badJob.id, goodJob.id, betterJob.id]],
    );
    assert.deepEqual(
      claimedEvents.map((event: { resource_id: string }) => event.resource_id),
      [goodJob.id, betterJob.id].sort(),
    );
  });

  it("an agent's secret works only on its own id (403 NOT_THIS_AGENT)", async () => {
    const mine = await mint(org, 'mine');
    const theirs = await mint(org, 'theirs');
    const job = await enqueue({ agent_id: theirs.id });
    const refused = await warden.request.post(`/api/v1/agents/${theirs.id}/jobs/claim`).set(mine.headers).expect(403);
    assert.equal(refused.body.code, 'NOT_THIS_AGENT');
    await warden.request
      .post(`/api/v1/agents/${theirs.id}/jobs/${job.id}/complete`)
      .set(mine.headers)
      .send({ status: 'completed' })
      .expect(403);
    await warden.request.post(`/api/v1/agents/${mine.id}/jobs/claim`).set(key).expect(403);
    const still = await warden.request.get(`/api/v1/jobs/${job.id}`).set(key).expect(200);
    assert.equal(still.body.status, 'queued');
  });

  it('a long-poll answers as soon as a job it may claim is enqueued, here or by another instance', async () => {
    const agent = await mint(org, 'waiter');
    const bystander = await mint(org, 'not-woken');
    const waiting = started(claim(agent, 20));
    await sleep(300);
    // A job for another agent leaves the wait waiting.
    await enqueue({ agent_id: bystander.id });
    const job = await enqueue({ agent_id: agent.id });
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.equal(res.body.id, job.id);

    // An unpinned job of a cluster it serves wakes it too.
    await serve(agent, 'waiting-cluster');
    const forCluster = started(claim(agent, 20));
    await sleep(300);
    const clusterJob = await enqueue({ cluster_name: 'waiting-cluster' });
    const clusterRes = await forCluster;
    assert.deepEqual([clusterRes.status, clusterRes.body.id], [200, clusterJob.id]);

    const second = await startTestApp({ database: warden.database });
    try {
      const before = Date.now();
      const next = started(claim(agent, 20));
      await sleep(300);
      const fromElsewhere = (
        await second.request
          .post('/api/v1/jobs')
          .set(key)
          .send({ cluster_name: 'prod-eu-1', kind: 'custom', payload: {}, agent_id: agent.id })
          .expect(201)
      ).body;
      const woken = await next;
      assert.equal(woken.status, 200);
      assert.equal(woken.body.id, fromElsewhere.id);
      // Well before the 20 s wait would have ended.
      assert.ok(Date.now() - before < 10_000);
    } finally {
      await second.close();
    }
  });

  it('waits are bounded (429 with Retry-After); a wait with nothing to claim answers 204 when it ends', async () => {
    const agent = await mint(org, 'impatient');
    const first = started(claim(agent, 2));
    await sleep(300);
    const refused = await claim(agent, 2).expect(429);
    assert.equal(refused.body.code, 'JOB_WAITS_EXHAUSTED');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal((await first).status, 204);
  });

  it('a stopped agent claims nothing: refused at once, and a wait it is in when killed finds nothing', async () => {
    const agent = await mint(org, 'doomed');
    const waiting = started(claim(agent, 2));
    await sleep(300);
    await warden.request.post(`/api/v1/kill-switch/${agent.id}`).set(key).send({ reason: 'compromised' }).expect(200);
    const job = await enqueue({ agent_id: agent.id });
    assert.equal((await waiting).status, 204);
    const refused = await claim(agent).expect(401);
    assert.equal(refused.body.code, 'CREDENTIAL_REVOKED');
    const read = await warden.request.get(`/api/v1/jobs/${job.id}`).set(key).expect(200);
    assert.equal(read.body.status, 'queued');
  });

  it("tenant isolation: another org's jobs are 404 to its admins and agents, and its agents cannot be named", async () => {
    const agent = await mint(org, 'home');
    const stranger = await mint(other, 'stranger');
    const job = await enqueue({ agent_id: agent.id });
    const otherKey = { 'X-API-Key': other.key };
    await warden.request.get(`/api/v1/jobs/${job.id}`).set(otherKey).expect(404);
    const listed = await warden.request.get('/api/v1/jobs').set(otherKey).expect(200);
    assert.deepEqual(listed.body.jobs, []);
    const pinned = await warden.request
      .post('/api/v1/jobs')
      .set(otherKey)
      .send({ cluster_name: 'prod-eu-1', kind: 'custom', payload: {}, agent_id: agent.id })
      .expect(404);
    assert.equal(pinned.body.code, 'AGENT_NOT_FOUND');
    // The same cluster name in another org is another cluster.
    await serve(stranger, 'prod-eu-1');
    const unpinned = await enqueue({ cluster_name: 'prod-eu-1' });
    await claim(stranger).expect(204);
    await claim(agent).expect(200);
    const read = await warden.request.get(`/api/v1/jobs/${unpinned.id}`).set(key).expect(200);
    assert.equal(read.body.status, 'queued');
    const foreign = await complete(stranger, job.id).expect(404);
    assert.equal(foreign.body.code, 'JOB_NOT_FOUND');
  });
});
