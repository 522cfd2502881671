import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { TestApp } from './test-app';

export interface AgentIdentity {
  privateKey: KeyObject;
  /** Base64 of the raw 32-byte Ed25519 public key, as registration takes it. */
  publicKey: string;
  sekuireId: string;
}

/** A fresh Ed25519 identity as an agent holds it: its key pair and its sekuire_id. */
export function agentIdentity(): AgentIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, publicKey: raw.toString('base64'), sekuireId: createHash('sha256').update(raw).digest('hex') };
}

/**
 * The agent's proof that it holds its key, for one org: its signature over the RFC 8785 JSON of
 * {org_id, purpose, sekuire_id, timestamp} (keys already in code-point order), as the spec documents.
 */
export function keyProof(
  identity: AgentIdentity,
  orgId: string,
  timestamp = new Date().toISOString(),
): { timestamp: string; signature: string } {
  const message = JSON.stringify({ org_id: orgId, purpose: 'warden.agent_key_proof', sekuire_id: identity.sekuireId, timestamp });
  return { timestamp, signature: sign(null, Buffer.from(message), identity.privateKey).toString('base64url') };
}

/** Registers a fresh identity through the API (seed 000 body). */
export async function registerAgent(warden: TestApp, apiKey: string, name = 'My Agent'): Promise<AgentIdentity & { id: string }> {
  const identity = agentIdentity();
  const res = await warden.request
    .post('/api/v1/agents/register')
    .set('X-API-Key', apiKey)
    .send({ sekuire_id: identity.sekuireId, name, version: '1.0.0', public_key: identity.publicKey, manifest_hash: 'hash_of_manifest' })
    .expect(201);
  return { ...identity, id: res.body.id };
}

export interface Bootstrapped {
  installation_id: string;
  runtime_token: string;
  refresh_token?: string;
  expires_at: string;
  heartbeat_interval: number;
}

/** Bootstraps an installation with an install token (seed 000 body). */
export async function bootstrapInstallation(warden: TestApp, installToken: string): Promise<Bootstrapped> {
  const res = await warden.request
    .post('/api/v1/installations/bootstrap')
    .send({
      install_token: installToken,
      upstream_url: 'http://my-agent:8000',
      capabilities: ['data_analysis'],
      heartbeat_interval_seconds: 60,
    })
    .expect(200);
  return res.body;
}
