import { Worker } from 'node:worker_threads';

/**
 * A thread that checks the hashes of a chain walk's rows while the walk reads on: each row's
 * stored hash must be the SHA-256 of its stored predecessor hash and its canonical text. The walk
 * checks that every stored predecessor hash is the stored hash before it, so the two checks
 * together are the sequential walk's, with the hashing (a fifth of its time) off the thread that
 * parses the COPY stream.
 *
 * A batch is rows of `[u32 message length][f64 seq][32-byte stored hash][message]`; the thread
 * answers each with the seq of its first row whose hash differs, or -1.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const sha256 = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest();
parentPort.on('message', ({ id, data, used, inFlight }) => {
  const batch = Buffer.from(data, 0, used);
  let at = 0;
  let edited = -1;
  while (at < used) {
    const length = batch.readUInt32LE(at);
    const seq = batch.readDoubleLE(at + 4);
    const message = batch.subarray(at + 44, at + 44 + length);
    if (!sha256(message).equals(batch.subarray(at + 12, at + 44))) {
      edited = seq;
      break;
    }
    at += 44 + length;
  }
  parentPort.postMessage({ id, edited, data }, [data]);
  Atomics.sub(inFlight, 0, 1);
  Atomics.notify(inFlight, 0);
});
`;

export const ROW_HEADER_BYTES = 44;
const BATCH_BYTES = 1 << 20;
/** Batches the thread may hold; beyond them the walk hashes rows itself rather than wait (or buffer more). */
const MAX_IN_FLIGHT = 3;

const idle: Worker[] = [];

/** One walk's use of a hashing thread; `finish` hands the thread back. */
export class ChainHasher {
  private readonly worker: Worker;
  private readonly inFlight = new Int32Array(new SharedArrayBuffer(4));
  private readonly spare: ArrayBuffer[] = [];
  private batch = new ArrayBuffer(BATCH_BYTES);
  private view = Buffer.from(this.batch);
  private used = 0;
  private sent = 0;
  private answered = 0;
  /** The first seq the thread found edited; batches answer in order, so the first report is the lowest. */
  edited: number | null = null;
  private drained: (() => void) | null = null;

  constructor() {
    this.worker = idle.pop() ?? new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', this.onAnswer);
  }

  private readonly onAnswer = ({ edited, data }: { edited: number; data: ArrayBuffer }) => {
    this.answered++;
    if (edited >= 0 && this.edited === null) this.edited = edited;
    this.spare.push(data);
    if (this.answered === this.sent) this.drained?.();
  };

  /**
   * Whether the thread can take another row. When it is behind, the walk hashes the row itself:
   * the server's event loop is never blocked waiting, and memory stays a few batches.
   */
  get hasRoom(): boolean {
    return Atomics.load(this.inFlight, 0) < MAX_IN_FLIGHT;
  }

  /** Queues one row: `message` is the predecessor hash and the canonical text, `hash` the stored hash. */
  add(seq: number, hash: Uint8Array, hashAt: number, message: Uint8Array, length: number): void {
    if (this.used + ROW_HEADER_BYTES + length > this.view.length) {
      this.flush();
      if (ROW_HEADER_BYTES + length > this.view.length) this.grow(ROW_HEADER_BYTES + length);
    }
    const view = this.view;
    view.writeUInt32LE(length, this.used);
    view.writeDoubleLE(seq, this.used + 4);
    view.set(hash.subarray(hashAt, hashAt + 32), this.used + 12);
    view.set(message.subarray(0, length), this.used + ROW_HEADER_BYTES);
    this.used += ROW_HEADER_BYTES + length;
  }

  private flush(): void {
    if (this.used === 0) return;
    Atomics.add(this.inFlight, 0, 1);
    this.sent++;
    this.worker.postMessage({ id: this.sent, data: this.batch, used: this.used, inFlight: this.inFlight }, [this.batch]);
    this.batch = this.spare.pop() ?? new ArrayBuffer(BATCH_BYTES);
    this.view = Buffer.from(this.batch);
    this.used = 0;
  }

  private grow(bytes: number): void {
    this.batch = new ArrayBuffer(bytes);
    this.view = Buffer.from(this.batch);
  }

  /** Waits for every queued row's answer; the thread goes back to the pool. */
  async finish(): Promise<number | null> {
    this.flush();
    if (this.answered < this.sent) await new Promise<void>((resolve) => (this.drained = resolve));
    this.worker.off('message', this.onAnswer);
    idle.push(this.worker);
    return this.edited;
  }
}
