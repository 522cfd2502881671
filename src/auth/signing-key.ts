import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { operations } from '../../generated/api';
import type { InstanceSecrets } from '../db/instance-secrets';

export type Jwk = operations['getJwks']['responses']['200']['content']['application/json']['keys'][number];

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Warden's own Ed25519 key: it signs trust headers and audit checkpoints, and its public half
 * is the JWKS. The seed is kept in the database, so every instance signs with the same key.
 */
export class SigningKey {
  private key: Promise<{ privateKey: KeyObject; publicKey: KeyObject; jwk: Jwk }> | undefined;

  constructor(private readonly secrets: InstanceSecrets) {}

  async jwk(): Promise<Jwk> {
    return (await this.load()).jwk;
  }

  async sign(message: Buffer): Promise<{ signature: Buffer; keyId: string }> {
    const { privateKey, jwk } = await this.load();
    return { signature: sign(null, message, privateKey), keyId: jwk.kid };
  }

  async verify(message: Buffer, signature: Buffer, keyId: string): Promise<boolean> {
    const { publicKey, jwk } = await this.load();
    return keyId === jwk.kid && verify(null, message, publicKey, signature);
  }

  private load() {
    this.key ??= this.secrets.get('trust_ed25519_seed').then((material) => {
      const privateKey = createPrivateKey({
        key: Buffer.concat([ED25519_PKCS8_PREFIX, material.subarray(0, 32)]),
        format: 'der',
        type: 'pkcs8',
      });
      const publicKey = createPublicKey(privateKey);
      const x = publicKey.export({ format: 'jwk' }).x!;
      const kid = `wk_${createHash('sha256').update(x).digest('base64url').slice(0, 16)}`;
      return {
        privateKey,
        publicKey,
        jwk: { kty: 'OKP' as const, crv: 'Ed25519' as const, x, kid, use: 'sig' as const, alg: 'EdDSA' as const },
      };
    });
    return this.key;
  }
}
