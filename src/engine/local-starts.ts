import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { StepScheduler } from '../ports/step-scheduler.port.js';
import type { StepExecutor } from './step-executor.js';

export interface LocalStartsOptions {
  readonly executor: Pick<StepExecutor, 'execute'>;
  readonly scheduler: Pick<StepScheduler, 'enqueue'>;
  /** Starts run at once; the rest wait here, in order. */
  readonly concurrency: number;
  readonly logger: Logger;
}

/**
 * First steps a worker created and runs itself, as it runs the next step of a chain: a thousand
 * schedule ticks of one second start without a thousand jobs. The step runs are stored SCHEDULED
 * and due before they are handed here, so nothing is lost with the process: one that dies leaves
 * them due with no job, which the sweep enqueues for any worker, and the executor's fenced claim
 * runs each once whoever gets there first.
 */
export class LocalStarts {
  private readonly limit;
  /** Handed here and not begun yet. */
  private readonly queued = new Set<string>();
  private stopping = false;

  constructor(private readonly options: LocalStartsOptions) {
    this.limit = pLimit(options.concurrency);
  }

  run(stepRunIds: readonly string[]): void {
    const { executor, logger } = this.options;
    for (const stepRunId of stepRunIds) {
      if (this.stopping) {
        void this.enqueue([stepRunId]);
        continue;
      }
      this.queued.add(stepRunId);
      void this.limit(async () => {
        if (!this.queued.delete(stepRunId)) return;
        await executor.execute(stepRunId);
      }).catch((err: unknown) =>
        // Due with no job: the sweep enqueues it.
        logger.warn({ err, stepRunId }, 'could not run a first step here'),
      );
    }
  }

  /**
   * Steps announced due by another part of the deployment, whose jobs are on their way (see
   * DueStepsChannel): as many as this worker has free lanes for start now, ahead of their jobs.
   * The rest are left to the jobs, for whichever worker has room.
   */
  offer(stepRunIds: readonly string[]): void {
    if (this.stopping) return;
    const free = this.options.concurrency - this.limit.activeCount - this.limit.pendingCount;
    if (free > 0) this.run(stepRunIds.slice(0, free));
  }

  /**
   * Starts not begun go to the scheduler, for any worker; those running are the executor's to
   * drain. Resolves once they are enqueued.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.limit.clearQueue();
    const left = [...this.queued];
    this.queued.clear();
    await this.enqueue(left);
  }

  private async enqueue(stepRunIds: readonly string[]): Promise<void> {
    await Promise.all(
      stepRunIds.map((stepRunId) =>
        this.options.scheduler.enqueue(stepRunId).catch((err: unknown) =>
          this.options.logger.warn({ err, stepRunId }, 'could not enqueue a first step; the sweep does'),
        ),
      ),
    );
  }
}
