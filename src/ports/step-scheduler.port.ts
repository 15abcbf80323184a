/**
 * Runs step executions as durable jobs. A job carries only the id of a step run; Postgres holds
 * everything else, so a job lost or delivered twice never loses or repeats a step (the engine's
 * compare-and-set on the step run decides, and a sweep re-enqueues due work that has no job).
 */
export interface StepScheduler {
  /**
   * Makes sure a job for `stepRunId` will be delivered at `runAt` (now when absent). Enqueuing
   * the same id again replaces the pending job instead of adding a second one.
   */
  enqueue(stepRunId: string, runAt?: Date): Promise<void>;
  /** Removes pending jobs of these step runs (a cancelled instance); unknown ids are ignored. */
  cancel(stepRunIds: readonly string[]): Promise<void>;
  /**
   * Starts delivering jobs to `handler` in this process (a worker). The handler's promise keeps
   * the job locked while it runs; a rejection is logged and the job is not retried by the
   * scheduler (the engine records failures and retries itself).
   */
  startWorker(handler: (stepRunId: string) => Promise<void>): Promise<void>;
  /** Stops delivering, waits for running handlers, and releases connections. */
  stop(): Promise<void>;
}
