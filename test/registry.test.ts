import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agentIdentity, keyProof } from './support/agents';
import { createGovernedAgent } from './support/governance';
import { createOrg, createUserAndLogin, type TestOrg, theAuditEventOf } from './support/identity';
import { startTestApp, type TestApp } from './support/test-app';

describe('the registry network: listings, verified agents, summary and the plan gate (seed 000)', () => {
  let warden: TestApp;
  let seller: TestOrg;
  let buyer: TestOrg;
  let starter: TestOrg;

  before(async () => {
    warden = await startTestApp();
    seller = await createOrg(warden, 'professional', 'Seller');
    buyer = await createOrg(warden, 'enterprise', 'Buyer');
    starter = await createOrg(warden, 'starter', 'Starter');
  });
  after(() => warden.close());

  /** An agent with a registered Ed25519 identity whose possession the org has proven. */
  const provenAgent = async (org: TestOrg, name: string): Promise<{ id: string; sekuireId: string }> => {
    const identity = agentIdentity();
    const res = await warden.request
      .post('/api/v1/agents/register')
      .set('X-API-Key', org.key)
      .send({ sekuire_id: identity.sekuireId, name, public_key: identity.publicKey, proof: keyProof(identity, org.id) })
      .expect(201);
    return { id: res.body.id, sekuireId: identity.sekuireId };
  };
  const list = (org: TestOrg, agentId: string, body: Record<string, unknown>) =>
    warden.request.put(`/api/v1/agents/${agentId}/listing`).set('X-API-Key', org.key).send(body);
  const network = (org: TestOrg, query = '') => warden.request.get(`/api/v1/registry/network/agents${query}`).set('X-API-Key', org.key);

  it('lists an agent (verified when its proven identity is live), changes it, and shows it to other orgs', async () => {
    const scanner = await provenAgent(seller, 'secret-scanner');
    const minted = await createGovernedAgent(warden, seller, { policy_ids: [], name: 'minted-helper' });
    const listed = await list(seller, scanner.id, { category: 'security', description: 'Finds leaked secrets.' }).expect(200);
    assert.equal(listed.body.verified, true);
    assert.equal(listed.body.org_id, seller.id);
    assert.match(listed.body.id, /^lst_/);
    const event = await theAuditEventOf(warden, listed);
    assert.equal(event.action, 'registry.listing_saved');
    assert.equal(event.details.before, null);

    const changed = await list(seller, scanner.sekuireId, {
      category: 'security',
      description: 'Finds and rotates leaked secrets.',
    }).expect(200);
    assert.equal(changed.body.id, listed.body.id);
    assert.equal(((await theAuditEventOf(warden, changed)).details.before as { description: string }).description, 'Finds leaked secrets.');
    const plain = await list(seller, minted.id, { category: 'data-analysis' }).expect(200);
    assert.equal(plain.body.verified, false, 'no registered identity, not verified');
    assert.equal(plain.body.description, '');

    const all = await network(buyer).expect(200);
    const mine = all.body.agents.filter((agent: { agent_id: string }) => [scanner.id, minted.id].includes(agent.agent_id));
    assert.deepEqual(
      mine.map((agent: { name: string; category: string; verified: boolean }) => [agent.name, agent.category, agent.verified]),
      [
        ['secret-scanner', 'security', true],
        ['minted-helper', 'data-analysis', false],
      ],
    );
    assert.equal(mine[0].sekuire_id, scanner.sekuireId);
    const verified = await network(buyer, '?category=security&verified_only=true&limit=20&offset=0').expect(200);
    assert.ok(
      verified.body.agents.every((agent: { verified: boolean; category: string }) => agent.verified && agent.category === 'security'),
    );
    assert.ok(verified.body.agents.some((agent: { agent_id: string }) => agent.agent_id === scanner.id));
    const paged = await network(buyer, '?limit=1&offset=1').expect(200);
    assert.deepEqual([paged.body.limit, paged.body.offset, paged.body.agents.length], [1, 1, 1]);
    assert.equal(paged.body.total, all.body.total);

    const summary = await warden.request.get('/api/v1/registry/network/summary').set('X-API-Key', buyer.key).expect(200);
    const security = summary.body.categories.find((row: { category: string }) => row.category === 'security');
    assert.ok(security.agents >= 1 && security.verified_agents >= 1);
    assert.equal(summary.body.total_agents, all.body.total);
    assert.ok(!JSON.stringify(summary.body).includes(seller.id), 'the summary names no org');
  });

  it('shows a stopped agent as unverified, hides a revoked one, and refuses to list a revoked agent', async () => {
    const agent = await provenAgent(seller, 'flaky');
    await list(seller, agent.id, { category: 'ops' }).expect(200);
    await warden.request.post(`/api/v1/kill-switch/${agent.id}`).set('X-API-Key', seller.key).send({ reason: 'incident' }).expect(200);
    const stopped = await network(buyer, '?category=ops').expect(200);
    assert.deepEqual(
      stopped.body.agents.map((row: { agent_id: string; verified: boolean }) => [row.agent_id, row.verified]),
      [[agent.id, false]],
    );
    assert.equal(await warden.services.registry.listedAgent(agent.id), undefined, 'a stopped agent cannot be hired');
    await warden.request.post(`/api/v1/agents/${agent.id}/revoke`).set('X-API-Key', seller.key).expect(200);
    assert.deepEqual((await network(buyer, '?category=ops').expect(200)).body.agents, []);
    const refused = await list(seller, agent.id, { category: 'ops' }).expect(409);
    assert.equal(refused.body.code, 'AGENT_STOPPED');
  });

  it('takes a listing down (204, audited with its before) and answers 404 for one that is not there', async () => {
    const agent = await provenAgent(seller, 'short-lived');
    await list(seller, agent.id, { category: 'temp' }).expect(200);
    const res = await warden.request.delete(`/api/v1/agents/${agent.id}/listing`).set('X-API-Key', seller.key).expect(204);
    const event = await theAuditEventOf(warden, res);
    assert.equal(event.action, 'registry.listing_deleted');
    assert.equal((event.details.before as { category: string }).category, 'temp');
    const again = await warden.request.delete(`/api/v1/agents/${agent.id}/listing`).set('X-API-Key', seller.key).expect(404);
    assert.equal(again.body.code, 'LISTING_NOT_FOUND');
    assert.deepEqual((await network(buyer, '?category=temp').expect(200)).body.agents, []);
  });

  it("keeps each org to its own agents' listings (404), and needs registry.edit", async () => {
    const agent = await provenAgent(seller, 'guarded');
    const foreign = await list(buyer, agent.id, { category: 'security' }).expect(404);
    assert.equal(foreign.body.code, 'AGENT_NOT_FOUND');
    await list(seller, agent.id, { category: 'security' }).expect(200);
    await warden.request.delete(`/api/v1/agents/${agent.id}/listing`).set('X-API-Key', buyer.key).expect(404);
    const member = await createUserAndLogin(warden, seller, `member-${Date.now()}@example.com`, 'member');
    const denied = await warden.request
      .put(`/api/v1/agents/${agent.id}/listing`)
      .set('Authorization', `Bearer ${member.token}`)
      .send({ category: 'security' })
      .expect(403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
    await warden.request.delete(`/api/v1/agents/${agent.id}/listing`).set('Authorization', `Bearer ${member.token}`).expect(403);
    await warden.request.put(`/api/v1/agents/${agent.id}/listing`).send({ category: 'security' }).expect(401);
    await warden.request.delete(`/api/v1/agents/${agent.id}/listing`).expect(401);
    await warden.request.delete('/api/v1/agents/not-an-id/listing').set('X-API-Key', seller.key).expect(400);
    await warden.request.put('/api/v1/agents/not-an-id/listing').set('X-API-Key', seller.key).send({ category: 'security' }).expect(400);
    const bad = await list(seller, agent.id, { category: 'Not A Slug' }).expect(422);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
  });

  it("is Professional and up: a Starter org gets seed 000's 402 body", async () => {
    for (const res of [
      await network(starter).expect(402),
      await warden.request.get('/api/v1/registry/network/summary').set('X-API-Key', starter.key).expect(402),
      await list(starter, (await createGovernedAgent(warden, starter, { policy_ids: [], name: 'small' })).id, { category: 'ops' }).expect(
        402,
      ),
    ]) {
      assert.equal(res.body.error, 'plan_limit_exceeded');
      assert.equal(res.body.code, 'REGISTRY_NETWORK_REQUIRES_UPGRADE');
      assert.equal(res.body.required_plan, 'professional');
      assert.equal(res.body.message, 'Your current plan (starter) does not include registry_network. Upgrade to professional or higher.');
      assert.ok(res.body.upgrade_url);
    }
    await warden.request.get('/api/v1/registry/network/agents').expect(401);
    await warden.request.get('/api/v1/registry/network/summary').expect(401);
    await network(buyer, '?limit=0').expect(400);
    await warden.request.get('/api/v1/registry/network/summary?x=1').set('X-API-Key', buyer.key).expect(400);
  });
});
