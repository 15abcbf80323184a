import { describe, expect, it } from 'vitest';
import { FakeJobStore, FakeStepScheduler } from '../../support/fake-step-scheduler.js';
import { describeStepSchedulerContract } from './step-scheduler.contract.js';

const store = new FakeJobStore();
const make = async () => {
  const scheduler = new FakeStepScheduler({ store });
  return { scheduler, cleanup: () => scheduler.stop() };
};

describeStepSchedulerContract('FakeStepScheduler', make, make);

describe('FakeStepScheduler test controls', () => {
  it('shows pending ids soonest first and delivers only what is due at its clock', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const scheduler = new FakeStepScheduler({ autoDeliver: false, now: () => now });
    const seen: string[] = [];
    await scheduler.startWorker(async (id) => {
      seen.push(id);
    });
    await scheduler.enqueue('b', new Date(now.getTime() + 2_000));
    await scheduler.enqueue('a', new Date(now.getTime() + 1_000));
    await scheduler.enqueue('c');
    expect(scheduler.pendingIds()).toEqual(['c', 'a', 'b']);

    await scheduler.runDue();
    expect(seen).toEqual(['c']);
    now = new Date(now.getTime() + 1_500);
    await scheduler.runDue();
    expect(seen).toEqual(['c', 'a']);
    expect(scheduler.pendingIds()).toEqual(['b']);
    await scheduler.stop();
  });

  it('delivers a job twice on purpose', async () => {
    const scheduler = new FakeStepScheduler({ autoDeliver: false });
    let concurrent = 0;
    let maxConcurrent = 0;
    // Each delivery waits until both are in: two deliveries one after the other would never finish.
    let bothIn: () => void = () => {};
    const together = new Promise<void>((resolve) => (bothIn = resolve));
    await scheduler.startWorker(async () => {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      if (concurrent === 2) bothIn();
      await together;
      concurrent -= 1;
    });
    await scheduler.enqueue('dup');
    await scheduler.deliverTwice('dup');
    expect(scheduler.deliveryCount('dup')).toBe(2);
    expect(maxConcurrent).toBe(2);
    expect(scheduler.pendingIds()).toEqual([]);
    await scheduler.stop();
  });

  it('records handler rejections instead of throwing them', async () => {
    const scheduler = new FakeStepScheduler({ autoDeliver: false });
    await scheduler.startWorker(async () => {
      throw new Error('boom');
    });
    await scheduler.enqueue('x');
    await scheduler.runDue();
    expect(scheduler.failures.map((f) => f.stepRunId)).toEqual(['x']);
    await scheduler.stop();
  });
});
