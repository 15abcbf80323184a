import type { EngineDeps } from './engine-deps.js';
import { MAX_LOST_WORKERS } from './step-executor.js';
import { instanceMove, stepMove } from './transitions.js';

export interface SweeperOptions {
  readonly deps: EngineDeps;
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
    const { deps, graceMs } = this.options;
    const now = deps.clock.now();
    const overdue = await deps.runs.claimOverdue({
      dueBefore: new Date(now.getTime() - graceMs),
      enqueuedBefore: new Date(now.getTime() - graceMs),
      limit: BATCH,
    });
    for (const run of overdue) await deps.scheduler.enqueue(run.id);
    if (overdue.length > 0) deps.logger.warn({ count: overdue.length }, 're-enqueued due steps that had no job');

    let recovered = 0;
    for (const run of await deps.runs.expiredLeases({ now, limit: BATCH })) {
      const lost = run.lostCount + 1;
      const reason = `the worker running this step stopped responding (${lost} time${lost === 1 ? '' : 's'})`;
      const base = { stepRunId: run.id, stepId: run.stepId, attempt: run.attempt };
      if (lost >= MAX_LOST_WORKERS) {
        const result = await deps.runs.commit({
          instanceId: run.instanceId,
          instance: {
            ...instanceMove('RUNNING', 'fail'),
            patch: { finishedAt: now, error: { stepId: run.stepId, attempt: run.attempt, reason } },
            detail: { stepId: run.stepId, attempt: run.attempt, reason },
          },
          steps: [
            {
              ...base,
              ...stepMove('RUNNING', 'fail'),
              patch: { lostCount: lost, leaseUntil: null, finishedAt: now, error: { message: reason, retryable: false } },
              detail: { reason },
            },
          ],
        });
        if (result.ok) deps.onEvents?.(result.events);
        continue;
      }
      // A lost worker does not use up an attempt: the step did not fail, its process did.
      const result = await deps.runs.commit({
        instanceId: run.instanceId,
        steps: [
          {
            ...base,
            ...stepMove('RUNNING', 'lose'),
            patch: { lostCount: lost, leaseUntil: null, dueAt: now, enqueuedAt: now, attempt: run.attempt - 1 },
            detail: { reason },
          },
        ],
      });
      if (result.ok) {
        recovered++;
        deps.onEvents?.(result.events);
        await deps.scheduler.enqueue(run.id);
      }
    }
    return { requeued: overdue.length, recovered };
  }
}
