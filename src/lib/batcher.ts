/**
 * Group commit for independent writes: items added while a batch is being written wait and go
 * together in the next one, so under load many writers share one statement (and one commit),
 * and alone a writer waits for nothing. Each `add` settles with its batch: resolved once it is
 * written, rejected with the batch's error.
 */
export class Batcher<T> {
  private queued: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  private writing = false;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxBatch: number,
    /** Called when the queue has run dry (e.g. to forget a per-key batcher). */
    private readonly idle: () => void = () => undefined,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      if (this.writing) return;
      this.writing = true;
      // From a microtask: the items added in this same turn (a transaction's settling callbacks, run
      // one after another) go in the first batch instead of waiting for a second.
      queueMicrotask(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const batch = this.queued.splice(0, this.maxBatch);
      if (batch.length === 0) {
        this.writing = false;
        this.idle();
        return;
      }
      try {
        await this.write(batch.map((entry) => entry.item));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
  }
}
