import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { sealTo } from '../../src/crypto/x25519-seal';
import { openSealed, type WireAgent } from '../support/broker';

const agentKeys = (): WireAgent => {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { id: 'agt_x', secret: '', auth: { 'X-Agent-Secret': '' }, privateKey, publicKey: raw };
};

describe('sealing to an X25519 wire key (the SealedBox an agent opens)', () => {
  it('opens with the recipient key, by the documented algorithm', () => {
    const agent = agentKeys();
    const box = sealTo(agent.publicKey, Buffer.from('the value'), 'wrap|wrp_1');
    assert.equal(box.alg, 'X25519-HKDF-SHA256-AES256GCM');
    assert.equal(Buffer.from(box.epk, 'base64').length, 32);
    assert.equal(Buffer.from(box.nonce, 'base64').length, 12);
    assert.equal(openSealed(agent, box).toString(), 'the value');
  });

  it('uses a fresh ephemeral key and nonce each time', () => {
    const agent = agentKeys();
    const [a, b] = [sealTo(agent.publicKey, Buffer.from('x'), 'c'), sealTo(agent.publicKey, Buffer.from('x'), 'c')];
    assert.notEqual(a.epk, b.epk);
    assert.notEqual(a.ciphertext, b.ciphertext);
  });

  it('does not open for another key, under another context, or altered', () => {
    const agent = agentKeys();
    const box = sealTo(agent.publicKey, Buffer.from('the value'), 'dek|dek_1');
    assert.throws(() => openSealed(agentKeys(), box));
    assert.throws(() => openSealed(agent, { ...box, context: 'dek|dek_2' }));
    const flipped = Buffer.from(box.ciphertext, 'base64');
    flipped[0]! ^= 1;
    assert.throws(() => openSealed(agent, { ...box, ciphertext: flipped.toString('base64') }));
  });
});
