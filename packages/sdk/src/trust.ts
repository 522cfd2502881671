import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { operations } from './api';
import { canonicalJson } from './canonical-json';
import { unwrap, type WardenClient } from './client';

export type TrustHeaders = operations['createTrustHeaders']['responses']['200']['content']['application/json'];
type Jwk = operations['getJwks']['responses']['200']['content']['application/json']['keys'][number];
type TrustVerifyInput = operations['verifyTrust']['requestBody']['content']['application/json'];

/** Lowercase hex SHA-256, the body hash trust headers carry. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Has Warden vouch for one outgoing request of an agent: the headers to attach to it. Needs a
 * client whose credential holds `trust.sign`, and an agent whose key the org has proven.
 */
export function signTrustHeaders(client: WardenClient, sekuireId: string, body: string | Uint8Array): Promise<TrustHeaders> {
  return unwrap(client.POST('/api/v1/trust/headers', { body: { sekuire_id: sekuireId, request_body_hash: sha256Hex(body) } }));
}

/**
 * The agent's own signature for `POST /api/v1/trust/verify`: Ed25519 over the RFC 8785 JSON of
 * `{context, sekuire_id}`, base64url.
 */
export function signTrustContext(
  privateKey: KeyObject,
  sekuireId: string,
  context: NonNullable<TrustVerifyInput['context']> = {},
): TrustVerifyInput {
  const message = Buffer.from(canonicalJson({ context, sekuire_id: sekuireId }), 'utf8');
  return { sekuire_id: sekuireId, signature: sign(null, message, privateKey).toString('base64url'), context };
}

export type TrustVerdict =
  | { valid: true; agent: string; sekuireId: string; timestamp: Date }
  | {
      valid: false;
      reason: 'missing_header' | 'unknown_key' | 'body_mismatch' | 'signature_invalid' | 'expired' | 'from_the_future' | 'replayed';
    };

export interface TrustVerifierOptions {
  /** Warden's base URL; the keys are read from `/.well-known/jwks.json` there. */
  baseUrl: string;
  /** How old a timestamp may be (default 5 minutes, what Warden's `expires_at` allows). */
  maxAgeMs?: number;
  /** Tolerated clock difference for timestamps ahead of this clock (default 30 s). */
  clockSkewMs?: number;
  fetch?: (input: Request) => Promise<Response>;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/**
 * A receiver's check of Warden's trust headers, offline but for the JWKS (fetched once, and again
 * when a new key id shows up): body hash, Ed25519 signature over the canonical JSON, age, and
 * replays within the accepted window.
 */
export function createTrustVerifier(options: TrustVerifierOptions) {
  const maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
  const clockSkewMs = options.clockSkewMs ?? 30_000;
  const doFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const jwksUrl = `${options.baseUrl.replace(/\/+$/, '')}/.well-known/jwks.json`;
  const keys = new Map<string, KeyObject>();
  const seen = new Map<string, number>();

  async function keyFor(kid: string): Promise<KeyObject | undefined> {
    if (!keys.has(kid)) {
      const response = await doFetch(new Request(jwksUrl));
      if (!response.ok) throw new Error(`Could not read Warden's JWKS: HTTP ${response.status}`);
      const jwks = (await response.json()) as { keys: Jwk[] };
      for (const jwk of jwks.keys) keys.set(jwk.kid, createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' }));
    }
    return keys.get(kid);
  }

  return {
    async verify(headers: HeaderSource, body: string | Uint8Array): Promise<TrustVerdict> {
      const read = (name: string) => headerValue(headers, name);
      const [agent, bodySha, timestamp, kid, signature] = [
        read('X-Warden-Agent'),
        read('X-Warden-Body-SHA256'),
        read('X-Warden-Timestamp'),
        read('X-Warden-Key-Id'),
        read('X-Warden-Signature'),
      ];
      if (!agent || !bodySha || !timestamp || !kid || !signature) return { valid: false, reason: 'missing_header' };
      if (sha256Hex(body) !== bodySha) return { valid: false, reason: 'body_mismatch' };
      const key = await keyFor(kid);
      if (!key) return { valid: false, reason: 'unknown_key' };
      const signed = Buffer.from(canonicalJson({ agent, body_sha256: bodySha, key_id: kid, timestamp }), 'utf8');
      if (!verify(null, signed, key, Buffer.from(signature, 'base64url'))) return { valid: false, reason: 'signature_invalid' };
      const at = new Date(timestamp);
      const now = Date.now();
      if (Number.isNaN(at.getTime()) || now - at.getTime() > maxAgeMs) return { valid: false, reason: 'expired' };
      if (at.getTime() - now > clockSkewMs) return { valid: false, reason: 'from_the_future' };
      for (const [seenSignature, until] of seen) if (until < now) seen.delete(seenSignature);
      if (seen.has(signature)) return { valid: false, reason: 'replayed' };
      seen.set(signature, at.getTime() + maxAgeMs);
      return { valid: true, agent, sekuireId: agent.slice('did:sekuire:'.length), timestamp: at };
    },
  };
}

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === wanted)?.[1];
  return Array.isArray(entry) ? entry[0] : entry;
}
