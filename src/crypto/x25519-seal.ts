import { createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';

export const SEAL_ALGORITHM = 'X25519-HKDF-SHA256-AES256GCM';

/** Bytes sealed to an X25519 public key; all byte strings standard base64. The spec's `SealedBox` documents opening it. */
export interface SealedBox {
  alg: typeof SEAL_ALGORITHM;
  context: string;
  epk: string;
  nonce: string;
  ciphertext: string;
}

const rawPublicKey = (key: ReturnType<typeof createPublicKey>) => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');

/**
 * Seals `plaintext` so that only the holder of the X25519 private key of `recipient` (its raw 32
 * bytes) opens it: an ephemeral key agreement, HKDF-SHA256 over the shared secret (salted with
 * both public keys, so the key is bound to this pair), and AES-256-GCM. `context` says what is
 * sealed and goes into both the derived key and the AAD, so a box cannot be passed off as another.
 */
export function sealTo(recipient: Buffer, plaintext: Buffer, context: string): SealedBox {
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: recipient.toString('base64url') }, format: 'jwk' });
  const ephemeral = generateKeyPairSync('x25519');
  const epk = rawPublicKey(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey });
  const info = `warden:v1:seal|${context}`;
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, recipient]), info, 32));
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(info, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return {
    alg: SEAL_ALGORITHM,
    context,
    epk: epk.toString('base64'),
    nonce: nonce.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}
