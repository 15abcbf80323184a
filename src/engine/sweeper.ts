import type { RunSweepStore } from '../ports/run-sweep.store.port.js';
import type { EngineDeps } from './engine-deps.js';
import { planLost } from './step-outcome.js';

export interface SweeperOptions {
  readonly deps: EngineDeps;
  readonly sweep: RunSweepStore;
  readonly intervalMs: number;
  /** Due work is re-enqueued only once this long overdue and this long since it was last enqueued. */
  readonly graceMs: number;
}

const BATCH = 500;

/**
 * Postgres is the source of truth; the scheduler only delivers. The sweep repairs what a crash or a
 * lost job leaves behind: due step runs with no job get one, and steps whose worker vanished
 * (lease expired) are handed back for another attempt.
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

  /** One pass; returns how many step runs it re-enqueued and recovered. */
  async sweep(): Promise<{ requeued: number; recovered: number }> {
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
    return { requeued: overdue.length, recovered };
  }
}
