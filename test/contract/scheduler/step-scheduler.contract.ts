import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepScheduler } from '../../../src/ports/step-scheduler.port.js';

/** A scheduler made for one test, and how to put its store back as it was. */
export interface SchedulerUnderTest {
  readonly scheduler: StepScheduler;
  /** Stops the scheduler (stopping twice must be fine) and frees what the test made. */
  cleanup(): Promise<void>;
}

export type MakeScheduler = () => Promise<SchedulerUnderTest>;

/** Generous: the suite checks what is delivered and in which order, not how fast. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** Records deliveries per step run id, with their times. */
class DeliveryLog {
  private readonly times = new Map<string, number[]>();

  record(stepRunId: string): void {
    const list = this.times.get(stepRunId) ?? [];
    list.push(Date.now());
    this.times.set(stepRunId, list);
  }

  count(stepRunId: string): number {
    return this.times.get(stepRunId)?.length ?? 0;
  }

  at(stepRunId: string, index = 0): number {
    const time = this.times.get(stepRunId)?.[index];
    if (time === undefined) throw new Error(`${stepRunId} was not delivered ${index + 1} time(s)`);
    return time;
  }

  async waitFor(stepRunId: string, times = 1): Promise<void> {
    await waitUntil(() => this.count(stepRunId) >= times, `${stepRunId} delivered ${times} time(s)`);
  }
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const newId = (label: string) => `${label}-${randomUUID()}`;

/**
 * The behaviour every StepScheduler adapter (and the fake) must show. `makeSecondOnSameStore`
 * makes another instance on the store the first ones use (another process, or a restart); without
 * it the durability test is skipped.
 */
export function describeStepSchedulerContract(
  name: string,
  makeScheduler: MakeScheduler,
  makeSecondOnSameStore?: MakeScheduler,
): void {
  describe(`StepScheduler contract: ${name}`, () => {
    const opened: SchedulerUnderTest[] = [];
    const open = async (make: MakeScheduler = makeScheduler) => {
      const made = await make();
      opened.push(made);
      return made.scheduler;
    };
    afterEach(async () => {
      for (const made of opened.splice(0).reverse()) await made.cleanup();
    });

    /**
     * Waits until the worker of `scheduler` has been through every job due now: a marker due just
     * after them is delivered. A duplicate of an earlier delivery would be due before the marker,
     * so once the marker is in, counting is final (no settle window that a slow machine outlasts).
     */
    const drained = async (scheduler: StepScheduler, log: DeliveryLog) => {
      const marker = newId('drained');
      await scheduler.enqueue(marker, new Date(Date.now() + 50));
      await log.waitFor(marker);
    };

    const startRecordingWorker = async (scheduler: StepScheduler) => {
      const log = new DeliveryLog();
      await scheduler.startWorker(async (stepRunId) => log.record(stepRunId));
      return log;
    };

    it('delivers an immediate job to the handler once', async () => {
      const scheduler = await open();
      const log = await startRecordingWorker(scheduler);
      const id = newId('now');
      await scheduler.enqueue(id);
      await log.waitFor(id);
      await drained(scheduler, log);
      expect(log.count(id)).toBe(1);
    });

    it('delivers a job with runAt no earlier than runAt', async () => {
      const scheduler = await open();
      const log = await startRecordingWorker(scheduler);
      const id = newId('later');
      const runAt = new Date(Date.now() + 300);
      await scheduler.enqueue(id, runAt);
      await log.waitFor(id);
      expect(log.at(id)).toBeGreaterThanOrEqual(runAt.getTime());
      await drained(scheduler, log);
      expect(log.count(id)).toBe(1);
    });

    it('delivers a job enqueued twice before it runs once', async () => {
      const scheduler = await open();
      const id = newId('twice');
      await scheduler.enqueue(id);
      await scheduler.enqueue(id);
      const log = await startRecordingWorker(scheduler);
      await log.waitFor(id);
      await drained(scheduler, log);
      expect(log.count(id)).toBe(1);
    });

    it('delivers a job enqueued by several callers at once once', async () => {
      const scheduler = await open();
      const id = newId('racing');
      await Promise.all(Array.from({ length: 5 }, () => scheduler.enqueue(id)));
      const log = await startRecordingWorker(scheduler);
      await log.waitFor(id);
      await drained(scheduler, log);
      expect(log.count(id)).toBe(1);
    });

    it('moves a pending job when it is enqueued again', async () => {
      const scheduler = await open();
      const log = await startRecordingWorker(scheduler);
      const id = newId('moved');
      const firstRunAt = new Date(Date.now() + 60_000);
      await scheduler.enqueue(id, firstRunAt);
      await scheduler.enqueue(id);
      await log.waitFor(id);
      expect(log.at(id)).toBeLessThan(firstRunAt.getTime());
      await drained(scheduler, log);
      expect(log.count(id)).toBe(1);
    });

    it('with the replacing hint, moves a pending job, and makes one where there is none', async () => {
      const scheduler = await open();
      const log = await startRecordingWorker(scheduler);
      const moved = newId('hinted-moved');
      const firstRunAt = new Date(Date.now() + 60_000);
      await scheduler.enqueue(moved, firstRunAt);
      await scheduler.enqueue(moved, undefined, { replacing: true });
      const fresh = newId('hinted-fresh');
      await scheduler.enqueue(fresh, undefined, { replacing: true });
      await log.waitFor(moved);
      await log.waitFor(fresh);
      expect(log.at(moved)).toBeLessThan(firstRunAt.getTime());
      await drained(scheduler, log);
      expect(log.count(moved)).toBe(1);
      expect(log.count(fresh)).toBe(1);
    });

    it('delivers each of many jobs once', async () => {
      const scheduler = await open();
      const log = await startRecordingWorker(scheduler);
      const ids = Array.from({ length: 25 }, (_, i) => newId(`many${i}`));
      await Promise.all(ids.map((id) => scheduler.enqueue(id)));
      await waitUntil(() => ids.every((id) => log.count(id) >= 1), 'all jobs delivered');
      await drained(scheduler, log);
      expect(ids.map((id) => log.count(id))).toEqual(ids.map(() => 1));
    });

    it('does not deliver a cancelled job', async () => {
      const scheduler = await open();
      const queuedId = newId('cancelled-queued');
      await scheduler.enqueue(queuedId);
      await scheduler.cancel([queuedId, newId('unknown')]);
      const log = await startRecordingWorker(scheduler);
      const scheduledId = newId('cancelled-scheduled');
      const runAt = new Date(Date.now() + 300);
      await scheduler.enqueue(scheduledId, runAt);
      await scheduler.cancel([scheduledId]);
      // A job enqueued after both shows the worker has been through everything due before it.
      const markerId = newId('marker');
      await scheduler.enqueue(markerId, new Date(runAt.getTime() + 300));
      await log.waitFor(markerId);
      await drained(scheduler, log);
      expect(log.count(queuedId)).toBe(0);
      expect(log.count(scheduledId)).toBe(0);
    });

    it('accepts cancelling nothing and unknown ids', async () => {
      const scheduler = await open();
      await scheduler.cancel([]);
      await scheduler.cancel([newId('never-enqueued')]);
    });

    it.skipIf(!makeSecondOnSameStore)(
      'delivers a job enqueued while no worker ran when a new instance starts a worker',
      async () => {
        const producer = await open();
        const id = newId('durable');
        await producer.enqueue(id);
        await producer.stop();
        const worker = await open(makeSecondOnSameStore);
        const log = await startRecordingWorker(worker);
        await log.waitFor(id);
        await drained(worker, log);
        expect(log.count(id)).toBe(1);
      },
    );

    it('keeps delivering after a handler rejects, and does not retry the rejected job', async () => {
      const scheduler = await open();
      const log = new DeliveryLog();
      const failingId = newId('fails');
      await scheduler.startWorker(async (stepRunId) => {
        log.record(stepRunId);
        if (stepRunId === failingId) throw new Error('step failed');
      });
      await scheduler.enqueue(failingId);
      await log.waitFor(failingId);
      const laterId = newId('after-failure');
      await scheduler.enqueue(laterId);
      await log.waitFor(laterId);
      await drained(scheduler, log);
      expect(log.count(failingId)).toBe(1);
      expect(log.count(laterId)).toBe(1);
    });

    it('delivers a job again when its own handler enqueues it (a retry)', async () => {
      const scheduler = await open();
      const log = new DeliveryLog();
      const id = newId('retried');
      let retryAt = 0;
      await scheduler.startWorker(async (stepRunId) => {
        log.record(stepRunId);
        if (stepRunId === id && log.count(id) === 1) {
          retryAt = Date.now() + 200;
          await scheduler.enqueue(id, new Date(retryAt));
        }
      });
      await scheduler.enqueue(id);
      await log.waitFor(id, 2);
      expect(log.at(id, 1)).toBeGreaterThanOrEqual(retryAt);
      await drained(scheduler, log);
      expect(log.count(id)).toBe(2);
    });

    it.skipIf(!makeSecondOnSameStore)(
      'delivers a job again when another process enqueues it while it runs',
      async () => {
        const scheduler = await open();
        const other = await open(makeSecondOnSameStore);
        const log = new DeliveryLog();
        const id = newId('enqueued-elsewhere');
        let release: () => void = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        await scheduler.startWorker(async (stepRunId) => {
          log.record(stepRunId);
          if (stepRunId === id && log.count(stepRunId) === 1) await released;
        });
        await scheduler.enqueue(id);
        await log.waitFor(id);
        // The first run is still going when the other process asks for another.
        await other.enqueue(id);
        release();
        await log.waitFor(id, 2);
        await drained(scheduler, log);
        expect(log.count(id)).toBe(2);
      },
    );

    it.skipIf(!makeSecondOnSameStore)(
      'stopWorker(): nothing new is delivered here, jobs enqueued afterwards go to another worker, running handlers finish',
      async () => {
        const stopping = await open();
        const other = await open(makeSecondOnSameStore);
        const mine = new DeliveryLog();
        const theirs = new DeliveryLog();
        const slowId = newId('running-at-stop');
        let release: () => void = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        let finished = false;
        await stopping.startWorker(async (stepRunId) => {
          mine.record(stepRunId);
          if (stepRunId === slowId) {
            await released;
            finished = true;
          }
        });
        await stopping.enqueue(slowId);
        await mine.waitFor(slowId);
        await stopping.stopWorker();
        await other.startWorker(async (stepRunId) => theirs.record(stepRunId));
        const laterId = newId('after-stop');
        await stopping.enqueue(laterId);
        await theirs.waitFor(laterId);
        release();
        await waitUntil(() => finished, 'the running handler to finish');
        expect(mine.count(laterId)).toBe(0);
        expect(theirs.count(slowId)).toBe(0);
      },
    );

    it.skipIf(!makeSecondOnSameStore)(
      'handBack(): a job running here is delivered to another worker at once, and not again when its handler ends',
      async () => {
        const stopping = await open();
        const other = await open(makeSecondOnSameStore);
        const mine = new DeliveryLog();
        const theirs = new DeliveryLog();
        const id = newId('handed-back');
        let release: () => void = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        await stopping.startWorker(async (stepRunId) => {
          mine.record(stepRunId);
          await released;
        });
        await stopping.enqueue(id);
        await mine.waitFor(id);
        await stopping.stopWorker();
        await other.startWorker(async (stepRunId) => theirs.record(stepRunId));
        await stopping.handBack(id);
        // Delivered elsewhere while the first handler is still running: no lock to wait out.
        await theirs.waitFor(id);
        release();
        await stopping.stop();
        await drained(other, theirs);
        expect(mine.count(id)).toBe(1);
        expect(theirs.count(id)).toBe(1);
      },
    );

    it('a handler that says delivered() leaves no job behind: the same id enqueued meanwhile is delivered again, once', async () => {
      const scheduler = await open();
      const log = new DeliveryLog();
      const id = newId('delivered');
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      await scheduler.startWorker(async (stepRunId, job) => {
        log.record(stepRunId);
        if (stepRunId !== id || log.count(stepRunId) > 1) return;
        await job.delivered();
        // Its job is gone: a retry due later is a new job, delivered while this handler still runs.
        await scheduler.enqueue(stepRunId, new Date(Date.now() + 100));
        await released;
      });
      await scheduler.enqueue(id);
      await log.waitFor(id, 2);
      release();
      await drained(scheduler, log);
      expect(log.count(id)).toBe(2);
    });

    it('stop() waits for a running handler and resolves, also when called again', async () => {
      const scheduler = await open();
      const id = newId('slow');
      let started = false;
      let finished = false;
      await scheduler.startWorker(async () => {
        started = true;
        // A slow handler is the thing under test: stop() must outwait it.
        await sleep(300);
        finished = true;
      });
      await scheduler.enqueue(id);
      await waitUntil(() => started, 'the handler to start');
      await scheduler.stop();
      expect(finished).toBe(true);
      await scheduler.stop();
    });
  });
}
