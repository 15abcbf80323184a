/**
 * Runs step executions as durable jobs. A job carries only the id of a step run; Postgres holds
 * everything else, so a job lost or delivered twice never loses or repeats a step (the engine's
 * compare-and-set on the step run decides, and a sweep re-enqueues due work that has no job).
 */
/** Hints that change how an enqueue is done, never what it does. */
export interface EnqueueOptions {
  /**
   * The step run most likely has a pending job already (a waiting step's timeout, now woken by
   * its message or event): the scheduler may move that job first instead of trying a new one.
   */
  readonly replacing?: boolean;
}

export interface StepScheduler {
  /**
   * Makes sure a job for `stepRunId` will be delivered at `runAt` (now when absent). Enqueuing
   * the same id again replaces the pending job instead of adding a second one.
   */
  enqueue(stepRunId: string, runAt?: Date, options?: EnqueueOptions): Promise<void>;
  /** Removes pending jobs of these step runs (a cancelled instance); unknown ids are ignored. */
  cancel(stepRunIds: readonly string[]): Promise<void>;
  /**
   * Starts delivering jobs to `handler` in this process (a worker). The job stays locked to this
   * worker until the handler calls `delivered()` or returns; a rejection is logged and the job is
   * not retried by the scheduler (the engine records failures and retries itself).
   */
  startWorker(handler: StepJobHandler): Promise<void>;
  /**
   * Makes a step run this process's worker could not finish due again at once for any worker:
   * a job running here for it is given up (neither its lock nor its final save is kept), and a
   * fresh job is enqueued now, so another worker need not wait for a lock to expire.
   */
  handBack(stepRunId: string): Promise<void>;
  /**
   * Stops taking new jobs in this process (jobs locked but not started are released for other
   * workers); running handlers go on, and enqueue still works. For a graceful stop.
   */
  stopWorker(): Promise<void>;
  /** Stops delivering, waits (boundedly) for running handlers, and releases connections. */
  stop(): Promise<void>;
}

/** What a worker's handler is told about the job it runs. */
export interface DeliveredJob {
  /**
   * The handler has taken the step (its claim committed, with a lease of its own): the job has
   * done its work and is removed now, so a worker that dies afterwards leaves no job locked for
   * others to wait out; the step run's lease and the sweep take over from here. Later enqueues of
   * the same id schedule a new job.
   */
  delivered(): Promise<void>;
}

/** Runs the step run a job names. */
export type StepJobHandler = (stepRunId: string, job: DeliveredJob) => Promise<void>;
