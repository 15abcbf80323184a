import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalStarts } from '../../../src/engine/local-starts.js';

/** An executor whose runs end when the test says, and a scheduler that records what it is given. */
function harness(concurrency: number) {
  const began: string[] = [];
  const enqueued: string[] = [];
  const finish = new Map<string, () => void>();
  const starts = new LocalStarts({
    executor: {
      execute: (id: string) =>
        new Promise<void>((resolve) => {
          began.push(id);
          finish.set(id, resolve);
        }),
    },
    scheduler: { enqueue: async (id: string) => void enqueued.push(id) },
    concurrency,
    logger: pino({ level: 'silent' }),
  });
  return { starts, began, enqueued, finish };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LocalStarts', () => {
  it('runs the first steps here, at most `concurrency` at once, in order', async () => {
    const { starts, began, finish, enqueued } = harness(2);
    starts.run(['a', 'b', 'c']);
    await turn();
    expect(began).toEqual(['a', 'b']);
    finish.get('a')!();
    await turn();
    await turn();
    expect(began).toEqual(['a', 'b', 'c']);
    expect(enqueued).toEqual([]);
  });

  it('on stop, steps not begun are enqueued for any worker and those running are left to the executor', async () => {
    const { starts, began, finish, enqueued } = harness(1);
    starts.run(['a', 'b', 'c']);
    await turn();
    expect(began).toEqual(['a']);
    // Resolves while 'a' still runs: draining it is the executor's part.
    await starts.stop();
    expect(enqueued).toEqual(['b', 'c']);
    finish.get('a')!();
    await turn();
    await turn();
    expect(began).toEqual(['a']);
    starts.run(['d']);
    await turn();
    expect(enqueued).toEqual(['b', 'c', 'd']);
    expect(began).toEqual(['a']);
  });

  it('takes announced due steps only into free lanes, leaving the rest to their jobs', async () => {
    const { starts, began, finish, enqueued } = harness(2);
    starts.run(['a']);
    starts.offer(['x', 'y', 'z']);
    await turn();
    // One lane was free: 'x' runs here; 'y' and 'z' are their jobs' to start, for any worker.
    expect(began).toEqual(['a', 'x']);
    starts.offer(['w']);
    await turn();
    expect(began).toEqual(['a', 'x']);
    finish.get('a')!();
    finish.get('x')!();
    await turn();
    await turn();
    expect(began).toEqual(['a', 'x']);
    starts.offer(['v']);
    await turn();
    expect(began).toEqual(['a', 'x', 'v']);
    // Announced steps have jobs: nothing is enqueued for them.
    expect(enqueued).toEqual([]);
  });

  it('takes no announced step once stopping', async () => {
    const { starts, began, enqueued } = harness(2);
    await starts.stop();
    starts.offer(['x']);
    await turn();
    expect(began).toEqual([]);
    expect(enqueued).toEqual([]);
  });
});
