import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ValidationError } from '../../errors/api-error';
import { canonicalJson } from '../../lib/canonical-json';
import { isLargeOrderPoint } from './ed25519-order';

/** How far a proof's timestamp may be from Warden's clock, either way. */
export const PROOF_WINDOW_MS = 5 * 60_000;
/** Names what the signature is for, so a proof can never pass for any other signed message. */
const PROOF_PURPOSE = 'warden.agent_key_proof';

const URL_SAFE = /^[A-Za-z0-9_-]+$/;
const invalid = (field: string, message: string, rule: string, code: ValidationError['code'], sentence: string) =>
  new ValidationError(sentence, code, [{ location: 'body', field, message, rule }]);

/**
 * The 32 bytes of a public key of this curve, or 422. Padded base64 and unpadded base64url
 * (Node's JWK `x`) are both taken; each must be the canonical spelling of its bytes, so one key
 * has one spelling in each alphabet and Warden stores it as base64.
 */
export function decodeKey(value: string, curve: 'Ed25519' | 'X25519', field: string): Buffer {
  const encoding = URL_SAFE.test(value) ? 'base64url' : 'base64';
  const bytes = Buffer.from(value, encoding);
  const fail = (message: string) =>
    invalid(
      field,
      message,
      'format',
      'INVALID_PUBLIC_KEY',
      `${field} must be the base64 or base64url of a 32-byte ${curve} public key: ${message}.`,
    );
  if (bytes.toString(encoding) !== value) throw fail(`it is not canonical ${encoding}`);
  if (bytes.length !== 32) throw fail(`it decodes to ${bytes.length} bytes`);
  try {
    keyObject(bytes, curve);
  } catch {
    throw fail('it is not a valid key');
  }
  if (curve === 'Ed25519') assertStrongKey(bytes, field);
  return bytes;
}

/**
 * 422 unless the key is a canonical point of large order: a small-order key has no private
 * key anyone holds, yet one constant signature verifies for it over every message.
 */
export function assertStrongKey(key: Buffer | string, field: string): void {
  if (!isLargeOrderPoint(keyBytes(key))) {
    throw invalid(
      field,
      'is not the canonical encoding of an Ed25519 point of large order',
      'ed25519_point',
      'WEAK_PUBLIC_KEY',
      `${field} must be an Ed25519 public key of large order; small-order points, non-canonical encodings and bytes that are ` +
        `no curve point are refused.`,
    );
  }
}

/**
 * Ed25519 verification that also refuses small-order keys and a small-order R (the first half
 * of the signature), which OpenSSL accepts; stored keys are checked here too, so a weak key
 * registered before Warden refused them never verifies.
 */
export function verifySignature(message: Buffer, key: Buffer | string, signature: Buffer): boolean {
  const bytes = keyBytes(key);
  return isLargeOrderPoint(bytes) && isLargeOrderPoint(signature.subarray(0, 32)) && verify(null, message, keyObject(bytes), signature);
}

export function keyObject(key: Buffer | string, curve: 'Ed25519' | 'X25519' = 'Ed25519'): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x: keyBytes(key).toString('base64url') }, format: 'jwk' });
}

/** Proven, and of a key Warden would accept today: a weak key proven before the check counts as unproven. */
export function keyProven(agent: { public_key: string | null; key_proven_at: Date | null }): boolean {
  return agent.key_proven_at !== null && agent.public_key !== null && isLargeOrderPoint(keyBytes(agent.public_key));
}

/** Stored keys are base64; keys just decoded from a request are already bytes. */
const keyBytes = (key: Buffer | string): Buffer => (typeof key === 'string' ? Buffer.from(key, 'base64') : key);

/** 422 unless the signature is 64 bytes of base64 or base64url. */
export function decodeSignature(signature: string, field = 'signature'): Buffer {
  const bytes = URL_SAFE.test(signature) ? Buffer.from(signature, 'base64url') : Buffer.from(signature, 'base64');
  if (bytes.length !== 64 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(signature)) {
    throw invalid(
      field,
      `decodes to ${bytes.length} bytes`,
      'format',
      'INVALID_SIGNATURE_ENCODING',
      `${field} must be a 64-byte Ed25519 signature in base64 or base64url.`,
    );
  }
  return bytes;
}

/** What an agent signs to prove, to one org, that it holds the private key of `sekuireId`. */
export function proofMessage(orgId: string, sekuireId: string, timestamp: string): string {
  return canonicalJson({ org_id: orgId, purpose: PROOF_PURPOSE, sekuire_id: sekuireId, timestamp });
}

/**
 * 422 unless `proof` is the key's signature over the proof message of this org and sekuire_id,
 * made within the window. Binding the org id means a proof shown to one org proves nothing to
 * another; the window bounds how long a leaked proof is worth replaying to the same org.
 */
export function assertKeyProof(
  orgId: string,
  sekuireId: string,
  publicKey: Buffer | string,
  proof: { timestamp: string; signature: string },
  prefix = '',
): void {
  const skew = Math.abs(Date.now() - new Date(proof.timestamp).getTime());
  if (!(skew <= PROOF_WINDOW_MS)) {
    throw invalid(
      `${prefix}timestamp`,
      'is more than 5 minutes from the server clock',
      'range',
      'PROOF_EXPIRED',
      'The proof timestamp must be within 5 minutes of now; sign a fresh one.',
    );
  }
  assertStrongKey(publicKey, 'public_key');
  const signature = decodeSignature(proof.signature, `${prefix}signature`);
  if (!verifySignature(Buffer.from(proofMessage(orgId, sekuireId, proof.timestamp), 'utf8'), publicKey, signature)) {
    throw invalid(
      `${prefix}signature`,
      "is not the registered key's signature over the proof message",
      'signature',
      'INVALID_PROOF',
      'The signature is not the agent key\'s signature over the RFC 8785 JSON of {org_id, purpose: "warden.agent_key_proof", ' +
        'sekuire_id, timestamp}.',
    );
  }
}
