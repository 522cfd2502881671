import type { TestOrg } from './identity';
import type { TestApp } from './test-app';

/** Seed 001's policy body, with the fields a test changes. */
export function policyBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `policy-${Math.random().toString(36).slice(2, 10)}`,
    allowed_actions: [],
    denied_path_prefixes: [],
    max_cost_per_request: 10,
    require_approval: false,
    approval_actions: [],
    ...overrides,
  };
}

export async function createPolicy(
  warden: TestApp,
  org: TestOrg,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; version: number }> {
  const res = await warden.request.post('/api/v1/policies').set('X-API-Key', org.key).send(policyBody(overrides)).expect(201);
  return { id: res.body.id, version: res.body.version };
}

/** A minted agent (seed 001/002 body) with its secret, under the given policies and budget. */
export async function createGovernedAgent(
  warden: TestApp,
  org: TestOrg,
  fields: { policy_ids: string[]; daily_budget?: number; name?: string },
): Promise<{ id: string; secret: string }> {
  const res = await warden.request
    .post('/api/v1/agents')
    .set('X-API-Key', org.key)
    .send({
      name: fields.name ?? 'governed-agent',
      policy_ids: fields.policy_ids,
      ...(fields.daily_budget === undefined ? {} : { daily_budget: fields.daily_budget }),
    })
    .expect(201);
  return { id: res.body.id, secret: res.body.agent_secret };
}

/** A vendor (seed 001 body) whose base_url is a receiver on 127.0.0.1. */
export async function createVendor(
  warden: TestApp,
  org: TestOrg,
  baseUrl: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string }> {
  const res = await warden.request
    .post('/api/v1/vendors')
    .set('X-API-Key', org.key)
    .send({
      name: `vendor-${Math.random().toString(36).slice(2, 10)}`,
      base_url: baseUrl,
      api_key: 'vendor-secret-0123456789',
      auth_type: 'bearer',
      ...overrides,
    })
    .expect(201);
  return { id: res.body.id };
}

/** A gateway key (seed 001 `POST /keys`) for the agent and vendor: its id and its secret. */
export async function createGatewayKey(
  warden: TestApp,
  org: TestOrg,
  agentId: string,
  vendorId: string,
): Promise<{ id: string; key: string }> {
  const res = await warden.request
    .post('/api/v1/keys')
    .set('X-API-Key', org.key)
    .send({ agent_id: agentId, vendor_id: vendorId })
    .expect(201);
  return { id: res.body.id, key: res.body.key };
}
