import * as crypto from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json';
import { canonicalDetails } from './canonical-details';
import type { ChainHasher } from './chain-hasher';

/**
 * The columns a walk reads, in this order, as `COPY … (FORMAT binary)` sends them: seq, the two
 * hashes, then the hashed fields in the sorted key order of their canonical JSON (see chainHash),
 * so each row's canonical text is written front to back as its fields are read.
 */
export const WALK_COLUMNS = [
  'seq',
  'prev_hash',
  'hash',
  'action',
  'actor_id',
  'actor_type',
  'details',
  'id',
  'ip',
  'occurred_at',
  'org_id',
  'outcome',
  'request_id',
  'resource_id',
  'resource_type',
  'user_agent',
  'workspace_id',
] as const;

const ascii = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
/** What precedes each hashed field in the canonical text (`seq` goes between resource_type and user_agent). */
const KEYS = [
  '{"action":',
  ',"actor_id":',
  ',"actor_type":',
  ',"details":',
  ',"id":',
  ',"ip":',
  ',"occurred_at":',
  ',"org_id":',
  ',"outcome":',
  ',"request_id":',
  ',"resource_id":',
  ',"resource_type":',
].map(ascii);
const SEQ_KEY = ascii(',"seq":');
const USER_AGENT_KEY = ascii(',"user_agent":');
const WORKSPACE_KEY = ascii(',"workspace_id":');
const NULL = ascii('null');
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01), in milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const HASH_BYTES = 32;

/** SHA-256 in one call where Node has crypto.hash (20.12+), else through a Hash object. */
const sha256: (data: Uint8Array) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data) => (crypto as unknown as { hash(a: string, d: Uint8Array, e: 'buffer'): Buffer }).hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

export type WalkBreak = { seq: number; reason: 'edited' | 'deleted' | 'reordered' };

/**
 * Verifies a chain from the binary COPY rows of its events in seq order, one CopyData chunk at a
 * time, without building an object per row: each row's canonical JSON (exactly chainHash's bytes)
 * is written into one reused buffer behind the predecessor's hash and hashed in one call. Holds
 * nothing but that buffer, so memory does not grow with the chain.
 */
export class ChainWalk {
  /** The seq the next row must have. */
  expected: number;
  /** The first break found; rows after it are skipped. */
  broken: WalkBreak | null = null;
  /** Rows read in the current COPY (including skipped ones). */
  rowsRead = 0;
  private headerSeen = false;
  /** prev hash (32 bytes) followed by the canonical text of the row being hashed. */
  private out = Buffer.allocUnsafe(8192);
  private pos = 0;
  private lastTime = Number.NaN;
  private lastIso = ascii('""');

  /**
   * With a hasher, rows' hashes are checked on its thread while this one parses on; each row's
   * stored hash then stands for it here (the link check compares stored hashes), and `finish`
   * folds the thread's findings into `broken`.
   */
  constructor(
    start: number,
    prevHash: Buffer,
    private readonly hasher?: ChainHasher,
  ) {
    this.expected = start;
    prevHash.copy(this.out, 0, 0, HASH_BYTES);
  }

  /** Waits for the hasher's answers: the first break is the lowest seq either thread found. */
  async finish(): Promise<void> {
    const edited = await this.hasher?.finish();
    if (edited === undefined || edited === null) return;
    if (!this.broken || edited < this.broken.seq) {
      this.broken = { seq: edited, reason: 'edited' };
      this.expected = edited;
    }
  }

  /** The hash of the last event verified (or the start hash). */
  get prevHash(): Buffer {
    return Buffer.from(this.out.subarray(0, HASH_BYTES));
  }

  /** A new COPY begins (its own header). */
  reset(): void {
    this.headerSeen = false;
    this.rowsRead = 0;
  }

  /** One CopyData message: the header and/or whole rows (the server sends each row in one message). */
  push(chunk: Buffer): void {
    const edited = this.hasher?.edited;
    if (edited !== undefined && edited !== null && !this.broken) {
      // Every row before it passed here; nothing after it changes the verdict.
      this.broken = { seq: edited, reason: 'edited' };
      this.expected = edited;
    }
    let at = 0;
    if (!this.headerSeen) {
      if (chunk.length < 19 || chunk.compare(SIGNATURE, 0, 11, 0, 11) !== 0) throw new Error('not a binary COPY stream');
      at = 19 + chunk.readInt32BE(15);
      this.headerSeen = true;
    }
    while (at < chunk.length) {
      const fields = chunk.readInt16BE(at);
      if (fields === -1) return;
      if (fields !== WALK_COLUMNS.length) throw new Error(`a walk row has ${WALK_COLUMNS.length} columns, not ${fields}`);
      at = this.row(chunk, at + 2);
      this.rowsRead++;
    }
  }

  /** One row starting at its first field; returns where the next row starts. */
  private row(chunk: Buffer, start: number): number {
    let at = start;
    const ends: number[] = FIELD_ENDS;
    for (let i = 0; i < WALK_COLUMNS.length; i++) {
      const length = chunk.readInt32BE(at);
      at += 4;
      FIELD_STARTS[i] = at;
      ends[i] = length < 0 ? -1 : at + length;
      if (length > 0) at += length;
    }
    if (this.broken) return at;
    const seq = readInt64(chunk, FIELD_STARTS[0]!);
    if (seq !== this.expected) {
      this.broken = { seq: this.expected, reason: 'deleted' };
      return at;
    }
    if (!this.sameAsPrev(chunk, FIELD_STARTS[1]!, ends[1]!)) {
      this.broken = { seq, reason: 'reordered' };
      return at;
    }
    this.ensure(64 + 6 * (at - start));
    this.pos = HASH_BYTES;
    for (let i = 3; i < WALK_COLUMNS.length; i++) {
      if (i === 15) {
        this.bytes(SEQ_KEY);
        this.pos += this.out.write(String(seq), this.pos, 'latin1');
        this.bytes(USER_AGENT_KEY);
      } else if (i === 16) this.bytes(WORKSPACE_KEY);
      else this.bytes(KEYS[i - 3]!);
      const from = FIELD_STARTS[i]!;
      const to = ends[i]!;
      if (to < 0) this.bytes(NULL);
      else if (i === 6) this.details(chunk, from, to);
      else if (i === 9) this.time(chunk, from);
      else this.text(chunk, from, to);
    }
    this.out[this.pos++] = 0x7d; // }
    const hashAt = FIELD_STARTS[2]!;
    if (ends[2]! - hashAt !== HASH_BYTES) {
      this.broken = { seq, reason: 'edited' };
      return at;
    }
    if (this.hasher?.hasRoom) {
      this.hasher.add(seq, chunk, hashAt, this.out, this.pos);
      chunk.copy(this.out, 0, hashAt, hashAt + HASH_BYTES);
    } else {
      const hash = sha256(this.out.subarray(0, this.pos));
      if (!sameBytes(hash, 0, chunk, hashAt)) {
        this.broken = { seq, reason: 'edited' };
        return at;
      }
      hash.copy(this.out, 0);
    }
    this.expected++;
    return at;
  }

  private sameAsPrev(chunk: Buffer, from: number, to: number): boolean {
    return to - from === HASH_BYTES && sameBytes(this.out, 0, chunk, from);
  }

  private ensure(room: number): void {
    if (this.out.length >= room + HASH_BYTES) return;
    const bigger = Buffer.allocUnsafe(Math.max(room + HASH_BYTES, this.out.length * 2));
    this.out.copy(bigger, 0, 0, Math.max(HASH_BYTES, this.pos));
    this.out = bigger;
  }

  private bytes(source: Uint8Array): void {
    const out = this.out;
    let pos = this.pos;
    for (let i = 0; i < source.length; i++) out[pos++] = source[i]!;
    this.pos = pos;
  }

  /** A text value as JSON.stringify writes it: copied as is unless it holds a quote, a backslash or a control character. */
  private text(chunk: Buffer, from: number, to: number): void {
    const out = this.out;
    let pos = this.pos;
    out[pos++] = 0x22;
    for (let i = from; i < to; i++) {
      const byte = chunk[i]!;
      if (byte < 0x20 || byte === 0x22 || byte === 0x5c) {
        this.pos = this.pos + out.write(JSON.stringify(chunk.toString('utf8', from, to)), this.pos, 'utf8');
        return;
      }
      out[pos++] = byte;
    }
    out[pos++] = 0x22;
    this.pos = pos;
  }

  /** A jsonb value (version byte, then its text) in RFC 8785 form. */
  private details(chunk: Buffer, from: number, to: number): void {
    if (chunk[from] !== 1) throw new Error(`jsonb binary version ${chunk[from]} is not known`);
    const written = canonicalDetails(chunk, from + 1, to, this.out, this.pos);
    if (written >= 0) {
      this.pos = written;
      return;
    }
    const canonical = canonicalJson(JSON.parse(chunk.toString('utf8', from + 1, to)));
    this.ensure(this.pos + Buffer.byteLength(canonical));
    this.pos += this.out.write(canonical, this.pos, 'utf8');
  }

  /** A timestamptz (microseconds since 2000) as toISOString() writes it, to the millisecond. */
  private time(chunk: Buffer, from: number): void {
    const micros = readInt64(chunk, from);
    if (micros !== this.lastTime) {
      const date = new Date(Math.floor(micros / 1000) + PG_EPOCH_MS);
      this.lastIso = ascii(JSON.stringify(Number.isNaN(date.getTime()) ? 'invalid' : date.toISOString()));
      this.lastTime = micros;
    }
    this.bytes(this.lastIso);
  }
}

const FIELD_STARTS: number[] = new Array(WALK_COLUMNS.length).fill(0);
const FIELD_ENDS: number[] = new Array(WALK_COLUMNS.length).fill(0);

/** Whether 32 bytes at `a`[aAt] and `b`[bAt] are equal (a loop: cheaper than a native compare for so few). */
function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): boolean {
  let diff = 0;
  for (let i = 0; i < HASH_BYTES; i++) diff |= a[aAt + i]! ^ b[bAt + i]!;
  return diff === 0;
}

/** A big-endian int64 as a number (exact below 2^53, which seqs and timestamps are). */
function readInt64(chunk: Buffer, at: number): number {
  return chunk.readInt32BE(at) * 0x1_0000_0000 + chunk.readUInt32BE(at + 4);
}
