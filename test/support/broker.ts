import assert from 'node:assert/strict';
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { createOrg, createUserAndLogin, type TestOrg } from './identity';
import type { TestApp } from './test-app';

/**
 * The secrets broker as a user meets it: an org with a project and its production environment, a
 * requester, two approvers holding the `security` role, and agents in the customer's cluster that
 * report the secrets they see. Everything is made through the API.
 */
export interface Broker {
  org: TestOrg;
  owner: { Authorization: string };
  projectId: string;
  environmentId: string;
  requester: Person;
  approvers: [Person, Person];
  /** A member with request.approve but without the security role. */
  outsider: Person;
}

export interface Person {
  id: string;
  token: string;
  auth: { Authorization: string };
}

export interface WireAgent {
  id: string;
  secret: string;
  auth: { 'X-Agent-Secret': string };
  privateKey: KeyObject;
  publicKey: Buffer;
}

export const CLUSTER = 'prod-eu-1';
export const SECRET_REF = { cluster_name: CLUSTER, provider: 'kubernetes', ref: 'payments/stripe-api-key' };

const person = (user: { id: string; token: string }): Person => ({ ...user, auth: { Authorization: `Bearer ${user.token}` } });

export async function setUpBroker(warden: TestApp, name = 'Broker org'): Promise<Broker> {
  const org = await createOrg(warden, 'enterprise', name);
  const owner = { Authorization: `Bearer ${org.key}` };
  const project = await warden.request.post('/api/v1/projects').set(owner).send({ name: 'payments' }).expect(201);
  const environment = await warden.request
    .post('/api/v1/environments')
    .set(owner)
    .send({ project_id: project.body.id, name: 'production' })
    .expect(201);
  const role = await warden.request
    .post('/api/v1/roles')
    .set(owner)
    .send({ name: 'security', description: 'Decides production access', permissions: ['request.approve', 'request.read'] })
    .expect(201);
  const tag = Math.random().toString(36).slice(2, 8);
  const requester = person(await createUserAndLogin(warden, org, `requester-${tag}@example.com`, 'member'));
  const approvers: Person[] = [];
  for (const n of [1, 2]) {
    const user = await createUserAndLogin(warden, org, `approver${n}-${tag}@example.com`, 'member');
    await warden.request.post('/api/v1/user-roles').set(owner).send({ user_id: user.id, role_id: role.body.id }).expect(201);
    approvers.push(person(user));
  }
  const outsider = person(await createUserAndLogin(warden, org, `outsider-${tag}@example.com`, 'admin'));
  return {
    org,
    owner,
    projectId: project.body.id,
    environmentId: environment.body.id,
    requester,
    approvers: approvers as [Person, Person],
    outsider,
  };
}

/** A workflow: `required` approvals from the security role for the given kinds in production (or auto-approval). */
export async function createWorkflow(warden: TestApp, broker: Broker, body: Record<string, unknown>): Promise<string> {
  const res = await warden.request
    .post('/api/v1/workflows')
    .set(broker.owner)
    .send({ name: `wf-${Math.random().toString(36).slice(2, 8)}`, priority: 100, ...body })
    .expect(201);
  return res.body.id;
}

/** An agent in the cluster with its X25519 wire key registered, which has reported the broker's secret. */
export async function createWireAgent(warden: TestApp, broker: Broker, name: string, withWireKey = true): Promise<WireAgent> {
  const minted = await warden.request.post('/api/v1/agents').set(broker.owner).send({ name }).expect(201);
  const auth = { 'X-Agent-Secret': minted.body.agent_secret as string };
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  if (withWireKey) {
    await warden.request
      .put(`/api/v1/agents/${minted.body.id}/public-key`)
      .set(auth)
      .send({ public_key: raw.toString('base64') })
      .expect(200);
  }
  await warden.request
    .post(`/api/v1/agents/${minted.body.id}/secrets/bulk`)
    .set(auth)
    .send({ secrets: [{ ...SECRET_REF, labels: { app: 'payments', env: 'production' } }] })
    .expect(200);
  return { id: minted.body.id, secret: minted.body.agent_secret, auth, privateKey, publicKey: raw };
}

export function readRequestBody(broker: Broker, extra: Record<string, unknown> = {}) {
  return {
    project_id: broker.projectId,
    environment_id: broker.environmentId,
    secret: SECRET_REF,
    justification: 'INC-4521: verify the live key matches the dashboard',
    ...extra,
  };
}

/** What an agent author writes to open a SealedBox (the spec's algorithm), with nothing but node:crypto. */
export function openSealed(
  agent: WireAgent,
  box: { alg: string; context: string; epk: string; nonce: string; ciphertext: string },
): Buffer {
  assert.equal(box.alg, 'X25519-HKDF-SHA256-AES256GCM');
  const epk = Buffer.from(box.epk, 'base64');
  const ephemeral = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: epk.toString('base64url') }, format: 'jwk' });
  const shared = diffieHellman({ privateKey: agent.privateKey, publicKey: ephemeral });
  const info = `warden:v1:seal|${box.context}`;
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, agent.publicKey]), info, 32));
  const sealed = Buffer.from(box.ciphertext, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(box.nonce, 'base64'));
  decipher.setAAD(Buffer.from(info, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

/** The agent's side of the read flow: a DEK from Warden, the value encrypted under it as the spec says. */
export async function encryptForWrap(warden: TestApp, agent: WireAgent, requestId: string, value: string) {
  const issued = await warden.request.post(`/api/v1/agents/${agent.id}/dek`).set(agent.auth).expect(201);
  const dek = openSealed(agent, issued.body.sealed_dek);
  assert.equal(dek.length, 32);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dek, nonce);
  cipher.setAAD(Buffer.from(`warden:v1:wrap|${requestId}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    request_id: requestId,
    wrapped_dek: issued.body.wrapped_dek as string,
    nonce: nonce.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

/** Approves with each approver in turn; the last answer. */
export async function approveWith(warden: TestApp, requestId: string, approvers: Person[]) {
  let last: { body: Record<string, unknown> } | undefined;
  for (const approver of approvers) {
    last = await warden.request
      .post(`/api/v1/requests/${requestId}/approve`)
      .set(approver.auth)
      .send({ approver_id: approver.id })
      .expect(200);
  }
  return last!.body;
}

/** The agent claims the next job, which must be the request's. */
export async function claimJobOf(warden: TestApp, agent: WireAgent, requestId: string) {
  const res = await warden.request.post(`/api/v1/agents/${agent.id}/jobs/claim`).set(agent.auth).expect(200);
  assert.equal(res.body.request_id, requestId);
  return res.body as { id: string; request_id: string; payload: Record<string, unknown> };
}
