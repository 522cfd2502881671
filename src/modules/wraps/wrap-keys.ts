import { createDecipheriv, randomBytes } from 'node:crypto';
import { open, seal } from '../../crypto/aes-gcm';
import { KEY_BYTES, type KeyManager } from '../../crypto/key-manager';
import { ApiError } from '../../errors/api-error';

/** How long an issued DEK may be sent back: long enough to fetch a value in the cluster, short enough to leave no standing key. */
export const DEK_TTL_SECONDS = 15 * 60;
const TOKEN = /^v1\.(dek_[0-9a-z]{1,64})\.(\d{1,12})\.([^.\s]{1,100})\.([A-Za-z0-9_-]{1,200})$/;

/** A key or value that does not open: forged, another agent's or org's, expired, or altered. */
export class WrapUnreadableError extends Error {}

const dekContext = (dekId: string, orgId: string, agentId: string, expires: number) =>
  `warden:v1:agent-dek|${dekId}|${orgId}|${agentId}|${expires}`;
export const wireAad = (requestId: string) => `warden:v1:wrap|${requestId}`;
const restKeyContext = (wrapId: string, orgId: string) => `warden:v1:wrap-key|${wrapId}|${orgId}`;
const restAad = (wrapId: string, orgId: string, requestId: string) => `warden:v1:wrap-value|${wrapId}|${orgId}|${requestId}`;

/**
 * A fresh DEK for one agent, and the token that carries it back wrapped by the KEK. The token's
 * wrapping context names the org, the agent and the expiry, so it opens only for that agent until
 * then, and Warden needs no table of issued keys.
 */
export async function issueDek(keys: KeyManager, dekId: string, orgId: string, agentId: string, expiresAt: Date) {
  const dek = randomBytes(KEY_BYTES);
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const { kekId, wrapped } = await keys.wrap(dek, dekContext(dekId, orgId, agentId, expires));
  return { dek, token: `v1.${dekId}.${expires}.${kekId}.${wrapped.toString('base64url')}` };
}

/** The agent's value, opened with the DEK its token carries. */
export async function openWireValue(
  keys: KeyManager,
  wire: { orgId: string; agentId: string; requestId: string; wrappedDek: string; nonce: string; ciphertext: string },
): Promise<Buffer> {
  const match = TOKEN.exec(wire.wrappedDek);
  if (!match) throw new WrapUnreadableError('wrapped_dek is not a key Warden issued');
  const [, dekId, expires, kekId, wrapped] = match as unknown as [string, string, string, string, string];
  if (Number(expires) * 1000 <= Date.now()) throw new WrapUnreadableError('wrapped_dek has expired; ask for a new key');
  const nonce = Buffer.from(wire.nonce, 'base64');
  const sealed = Buffer.from(wire.ciphertext, 'base64');
  if (nonce.length !== 12 || sealed.length < 16)
    throw new WrapUnreadableError('nonce must be 12 bytes and ciphertext end with a 16-byte tag');
  try {
    const dek = await keys.unwrap(kekId, Buffer.from(wrapped, 'base64url'), dekContext(dekId, wire.orgId, wire.agentId, Number(expires)));
    const decipher = createDecipheriv('aes-256-gcm', dek, nonce);
    decipher.setAAD(Buffer.from(wireAad(wire.requestId), 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch (error) {
    // A KeyManager that cannot serve (no KEK: 503) says so; anything else is a key or ciphertext that does not open.
    if (error instanceof ApiError) throw error;
    throw new WrapUnreadableError('wrapped_dek was not issued to this agent, or the ciphertext does not open with it');
  }
}

/** A value at rest: under a fresh data key of its own, wrapped by the KEK, both bound to the wrap, org and request. */
export async function sealAtRest(keys: KeyManager, wrap: { id: string; orgId: string; requestId: string }, value: Buffer) {
  const dek = randomBytes(KEY_BYTES);
  const { kekId, wrapped } = await keys.wrap(dek, restKeyContext(wrap.id, wrap.orgId));
  return { kek_id: kekId, wrapped_dek: wrapped, ciphertext: seal(dek, value, restAad(wrap.id, wrap.orgId, wrap.requestId)) };
}

export async function openAtRest(
  keys: KeyManager,
  wrap: { id: string; orgId: string; requestId: string },
  sealed: { kekId: string; wrappedDek: Buffer; ciphertext: Buffer },
): Promise<Buffer> {
  const dek = await keys.unwrap(sealed.kekId, sealed.wrappedDek, restKeyContext(wrap.id, wrap.orgId));
  return open(dek, sealed.ciphertext, restAad(wrap.id, wrap.orgId, wrap.requestId));
}
