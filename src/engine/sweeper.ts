import type { RunSweepStore } from '../ports/run-sweep.store.port.js';
import type { EngineDeps } from './engine-deps.js';
import type { FailureHandlers } from './failure-handlers.js';
import { planLost } from './step-outcome.js';

export interface SweeperOptions {
  readonly deps: EngineDeps;
  readonly sweep: RunSweepStore;
  readonly intervalMs: number;
  /** Due work is re-enqueued only once this long overdue and this long since it was last enqueued. */
  readonly graceMs: number;
  /**
   * Starts the failure handlers whose start was lost. Unset: the sweep does not look for them.
   * It looks at failures older than `graceMs` (the failing worker had its chance) and younger
   * than `recoveryWindowMs`.
   */
  readonly failureHandlers?: { readonly handlers: Pick<FailureHandlers, 'startFor'>; readonly recoveryWindowMs: number };
  /** Deletes up to `limit` events kept past their time (see EventWaits.purgeExpired). Unset: none. */
  readonly purgeExpiredEvents?: (limit: number) => Promise<number>;
}

const BATCH = 500;

/**
 * Postgres is the source of truth; the scheduler only delivers. The sweep repairs what a crash or a
 * lost job leaves behind: due step runs with no job get one, steps whose worker vanished
 * (lease expired) are handed back for another attempt, and failures whose handler run was never
 * started (the worker died after the failure's commit) get it. It also deletes expired kept events.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SweeperOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) {
        this.running = this.sweep()
          .then(() => undefined)
          .catch((err: unknown) => this.options.deps.logger.error({ err }, 'sweep failed'))
          .finally(() => (this.running = undefined));
      }
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns how many step runs it re-enqueued and recovered, and how many failure handlers it started. */
  async sweep(): Promise<{ requeued: number; recovered: number; handlersStarted: number }> {
    const { deps, sweep, graceMs } = this.options;
    const now = deps.clock.now();
    const overdue = await sweep.claimOverdue({
      dueBefore: new Date(now.getTime() - graceMs),
      enqueuedBefore: new Date(now.getTime() - graceMs),
      limit: BATCH,
    });
    for (const run of overdue) await deps.scheduler.enqueue(run.id);
    if (overdue.length > 0) deps.logger.warn({ count: overdue.length }, 're-enqueued due steps that had no job');

    // Fenced on the lease this pass saw, and applied only if it has run out by the database's
    // clock: of two sweeps that read it, one hands it back; a new attempt is never taken away.
    // All at once: a dead worker's steps wait for the slowest of them, not for their sum.
    const handedBack = await Promise.all(
      (await sweep.expiredLeases({ limit: BATCH })).map(async (run) => {
        const plan = planLost({ stepRun: run, now: deps.clock.now() });
        const result = await deps.runs.commit(plan.change);
        if (plan.change.instance?.to === 'FAILED' && result.ok) {
          await deps.onInstanceFailed?.({ instanceId: run.instanceId, stepRunId: run.id }).catch((err: unknown) =>
            deps.logger.error({ err, instanceId: run.instanceId }, 'could not start the failure handler'),
          );
        }
        if (!result.ok) return false;
        deps.onEvents?.(result.events);
        if (!plan.enqueue) return false;
        await deps.scheduler.enqueue(plan.enqueue.stepRunId);
        return true;
      }),
    );
    const recovered = handedBack.filter(Boolean).length;
    const handlersStarted = await this.startLostFailureHandlers();
    // Expired events are never matched (every read checks expiry); this only frees their rows.
    await this.options.purgeExpiredEvents?.(BATCH);
    return { requeued: overdue.length, recovered, handlersStarted };
  }

  private async startLostFailureHandlers(): Promise<number> {
    const { deps, sweep, graceMs, failureHandlers } = this.options;
    if (!failureHandlers) return 0;
    const now = deps.clock.now().getTime();
    const unhandled = await sweep.unhandledFailures({
      failedAfter: new Date(now - failureHandlers.recoveryWindowMs),
      failedBefore: new Date(now - graceMs),
      limit: BATCH,
    });
    let started = 0;
    // One at a time: a rare repair, and each start is a few writes.
    for (const failed of unhandled) {
      try {
        if (await failureHandlers.handlers.startFor(failed)) started++;
      } catch (err: unknown) {
        // One failure's handler refused (e.g. archived meanwhile) must not hold up the others.
        deps.logger.error({ err, instanceId: failed.id }, 'could not start the failure handler');
      }
    }
    if (started > 0) deps.logger.warn({ count: started }, 'started failure handlers whose start was lost');
    return started;
  }
}
