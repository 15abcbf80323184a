/**
 * Steps a commit made due now while their jobs are still on their way to the scheduler (a woken
 * wait): announced to the workers, so that one with a free lane starts them at once instead of
 * after the job's save, its notification and the scheduler's lock. A shortcut, not a delivery: an
 * announcement may be lost or heard by several workers. The job stays the durable path, and the
 * executor's fenced claim runs each step once whoever gets there first.
 */
export interface DueStepsChannel {
  /** Best effort, never throws: a failure to announce is logged and the jobs carry on. */
  announce(stepRunIds: readonly string[]): void;
  /** Calls `listener` with the ids announced by any process (this one included); returns the unsubscribe. */
  listen(listener: (stepRunIds: readonly string[]) => void): () => void;
}
