import { createHash, generateKeyPairSync } from 'node:crypto';

/** A fresh Ed25519 identity as an agent holds it: the base64 public key and its sekuire_id. */
export function agentIdentity(): { publicKey: string; sekuireId: string } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { publicKey: raw.toString('base64'), sekuireId: createHash('sha256').update(raw).digest('hex') };
}
