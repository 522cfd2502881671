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
    const rest = [2, 3, 4, 5].map((item) => batcher.add(item));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(batches, [[1]]);
    release();
    await Promise.all([first, ...rest]);
    assert.deepEqual(batches, [[1], [2, 3, 4], [5]]);
  });

  it('rejects exactly the items of a failed batch, then goes on; tells when it runs dry', async () => {
    let idle = 0;
    const batcher = new Batcher<string>(
      async (items) => {
        if (items.includes('bad')) throw new Error('write failed');
      },
      10,
      () => idle++,
    );
    const results = await Promise.allSettled([batcher.add('bad'), batcher.add('good')]);
    assert.equal(results[0]!.status, 'rejected');
    assert.equal(results[1]!.status, 'fulfilled');
    assert.equal(idle, 1);
    await batcher.add('again');
    assert.equal(idle, 2);
  });
});
