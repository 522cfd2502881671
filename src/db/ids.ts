import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
/**
 * Ids draw their randomness from a block of this many CSPRNG bytes, 16 each (as crypto.randomUUID
 * buffers its own): one call to the generator per 256 ids, where a hot path (the gateway writes two
 * ids a call) paid one each.
 */
const ENTROPY_BLOCK = 4096;
let entropy = Buffer.alloc(0);
let drawn = 0;

/**
 * A public id: prefix + 10 characters of millisecond time + 16 random characters (Crockford
 * base32, lowercase, like a ULID). Sorting ids sorts by creation time, so lists can order by
 * id and page with the last id as cursor.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  for (let rest = now, i = 0; i < 10; i++, rest = Math.floor(rest / 32)) time = CROCKFORD[rest % 32] + time;
  if (drawn + 16 > entropy.length) {
    entropy = randomBytes(ENTROPY_BLOCK);
    drawn = 0;
  }
  let tail = '';
  for (let i = drawn; i < drawn + 16; i++) tail += CROCKFORD[entropy[i]! % 32];
  drawn += 16;
  return `${prefix}_${time}${tail}`;
}
