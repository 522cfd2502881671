/**
 * Whether 32 bytes are the canonical encoding of an Ed25519 point of large (prime) order.
 *
 * OpenSSL's verify (Node's crypto.verify) accepts small-order public keys: for the identity
 * point, the signature R = identity, S = 0 verifies over every message, and nobody holds a
 * private key for it. A key (or a signature's R) passes only if it decodes per RFC 8032
 * §5.1.3 with y < p and [8]P is not the identity, which excludes all eight torsion points in
 * every spelling, non-canonical ones included.
 */
const P = 2n ** 255n - 19n;
const D = mod(-121665n * inverse(121666n));
/** sqrt(-1) mod p, for the second square-root candidate of RFC 8032 §5.1.3 step 3. */
const SQRT_M1 = power(2n, (P - 1n) / 4n);

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

function inverse(a: bigint): bigint {
  return power(a, P - 2n);
}

type Extended = { x: bigint; y: bigint; z: bigint; t: bigint };

/** The point, or null when the bytes are not a canonical encoding of a curve point. */
function decode(bytes: Uint8Array): Extended | null {
  if (bytes.length !== 32) return null;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i]!);
  const sign = y >> 255n;
  y &= (1n << 255n) - 1n;
  if (y >= P) return null;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * power(v, 3n) * power(u * power(v, 7n), (P - 5n) / 8n));
  const vxx = mod(v * x * x);
  if (vxx === mod(-u)) x = mod(x * SQRT_M1);
  else if (vxx !== u) return null;
  if (x === 0n && sign === 1n) return null;
  if ((x & 1n) !== sign) x = P - x;
  return { x, y, z: 1n, t: mod(x * y) };
}

/** Doubling in extended coordinates (RFC 8032 §5.1.4, "dbl-2008-hwcd" for a = -1). */
function double({ x, y, z }: Extended): Extended {
  const a = mod(x * x);
  const b = mod(y * y);
  const c = mod(2n * z * z);
  const h = mod(a + b);
  const e = mod(h - mod((x + y) * (x + y)));
  const g = mod(a - b);
  const f = mod(c + g);
  return { x: mod(e * f), y: mod(g * h), z: mod(f * g), t: mod(e * h) };
}

export function isLargeOrderPoint(bytes: Uint8Array): boolean {
  const point = decode(bytes);
  if (!point) return false;
  const eight = double(double(double(point)));
  // The identity is (0, 1): X = 0 and Y = Z in projective form.
  return !(eight.x === 0n && eight.y === eight.z);
}
