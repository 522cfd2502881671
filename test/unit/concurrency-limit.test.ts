import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimit } from '../../src/lib/concurrency-limit';

describe('ConcurrencyLimit (audit verification streams)', () => {
  it('never runs more than its limit at once, serves waiters in order, and frees the slot of a failure', async () => {
    const limit = new ConcurrencyLimit(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const results = await Promise.allSettled(
      Array.from({ length: 7 }, (_, index) =>
        limit.run(async () => {
          started.push(index);
          running++;
          most = Math.max(most, running);
          await tick();
          await tick();
          running--;
          if (index === 1) throw new Error('boom');
          return index;
        }),
      ),
    );
    assert.equal(most, 2);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(results[1]!.status, 'rejected');
    assert.deepEqual(
      results.filter((result) => result.status === 'fulfilled').map((result) => (result as PromiseFulfilledResult<number>).value),
      [0, 2, 3, 4, 5, 6],
    );
    assert.equal(await limit.run(async () => 'after'), 'after');
  });
});
