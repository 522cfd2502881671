import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher } from '../../src/lib/batcher';

describe('Batcher: group commit of independent writes', () => {
  it('writes a lone item at once, and items added while a batch is written together in the next one', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
    }, 3);
    const first = batcher.add(1);
    // The first batch starts from a microtask; the items added after that wait for the next.
    await Promise.resolve();
    const rest = [2, 3, 4, 5].map((item) => batcher.add(item));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(batches, [[1]]);
    release();
    await Promise.all([first, ...rest]);
    assert.deepEqual(batches, [[1], [2, 3, 4], [5]]);
  });

  it('takes the items added in one turn (a transaction settling its callbacks) into the first batch', async () => {
    const batches: string[][] = [];
    const batcher = new Batcher<string>(async (items) => {
      batches.push(items);
    }, 10);
    await Promise.all([batcher.add('a'), batcher.add('b')]);
    assert.deepEqual(batches, [['a', 'b']]);
  });

  it('rejects exactly the items of a failed batch, then goes on; tells when it runs dry', async () => {
    let idle = 0;
    const batcher = new Batcher<string>(
      async (items) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (items.includes('bad')) throw new Error('write failed');
      },
      10,
      () => idle++,
    );
    const bad = batcher.add('bad');
    await Promise.resolve();
    const results = await Promise.allSettled([bad, batcher.add('good')]);
    assert.equal(results[0]!.status, 'rejected');
    assert.equal(results[1]!.status, 'fulfilled');
    assert.equal(idle, 1);
    await batcher.add('again');
    assert.equal(idle, 2);
  });
});
