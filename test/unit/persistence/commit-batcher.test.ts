import { describe, expect, it } from 'vitest';
import { CommitBatcher, type Settled } from '../../../src/persistence/commit-batcher.js';

/** A batcher whose batches the test finishes by hand. */
function batcher(maxInFlight = 1, maxBatch = 100) {
  const batches: { items: readonly number[]; finish(results?: Settled<string>[]): void; fail(err: Error): void }[] = [];
  const b = new CommitBatcher<number, string>({
    maxInFlight,
    maxBatch,
    run: (items) =>
      new Promise((resolve, reject) =>
        batches.push({ items, finish: (results) => resolve(results ?? items.map((i) => ({ value: `done ${i}` }))), fail: reject }),
      ),
  });
  return { b, batches };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('CommitBatcher', () => {
  it('sends an item at once when nothing is in flight', async () => {
    const { b, batches } = batcher();
    const one = b.submit(1);
    expect(batches.map((x) => x.items)).toEqual([[1]]);
    batches[0]!.finish();
    expect(await one).toBe('done 1');
  });

  it('items submitted while a batch is in flight go out together when it returns', async () => {
    const { b, batches } = batcher();
    const all = [b.submit(1), b.submit(2), b.submit(3), b.submit(4)];
    expect(batches.map((x) => x.items)).toEqual([[1]]);
    batches[0]!.finish();
    await tick();
    expect(batches.map((x) => x.items)).toEqual([[1], [2, 3, 4]]);
    batches[1]!.finish();
    expect(await Promise.all(all)).toEqual(['done 1', 'done 2', 'done 3', 'done 4']);
  });

  it('keeps up to maxInFlight batches going and no batch bigger than maxBatch', async () => {
    const { b, batches } = batcher(2, 2);
    const all = [1, 2, 3, 4, 5, 6].map((i) => b.submit(i));
    expect(batches.map((x) => x.items)).toEqual([[1], [2]]);
    batches[0]!.finish();
    await tick();
    expect(batches.map((x) => x.items)).toEqual([[1], [2], [3, 4]]);
    batches[1]!.finish();
    batches[2]!.finish();
    await tick();
    expect(batches.map((x) => x.items)).toEqual([[1], [2], [3, 4], [5, 6]]);
    batches[3]!.finish();
    expect(await Promise.all(all)).toHaveLength(6);
  });

  it('fails only the items whose outcome is an error; a batch that rejects fails all of its items', async () => {
    const { b, batches } = batcher();
    const first = b.submit(1);
    const [two, three] = [b.submit(2), b.submit(3)];
    batches[0]!.fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await tick();
    batches[1]!.finish([{ value: 'ok 2' }, { error: new Error('refused 3') }]);
    expect(await two).toBe('ok 2');
    await expect(three).rejects.toThrow('refused 3');
  });
});
