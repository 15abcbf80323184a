import type { InstanceRecord, StepRunRecord } from './run-records.js';

/** What the repair sweep reads: work whose job or worker went missing. */
export interface RunSweepStore {
  /**
   * Due work whose job may be lost: runnable step runs due before `dueBefore` and last enqueued
   * before `enqueuedBefore`. Marks them enqueued now (so concurrent sweeps do not take them too).
   */
  claimOverdue(options: { dueBefore: Date; enqueuedBefore: Date; limit: number }): Promise<{ id: string; dueAt: Date }[]>;
  /**
   * RUNNING step runs whose lease has run out by the database's clock. The sweep hands each back
   * with a commit fenced on the record's `fence` and `leaseExpired`, so of two sweeps that read the
   * same lease only one can hand it back, and never after a new attempt has started.
   */
  expiredLeases(options: { limit: number }): Promise<StepRunRecord[]>;
  /**
   * FAILED instances whose failure handler may never have been started (a worker that died between
   * the failure's commit and the handler's start): those whose version names a handler that is a
   * published, unarchived workflow of their workspace, that are not themselves handler runs
   * (idempotency source `failure-handler`), that failed at or after `failedAfter` and before
   * `failedBefore`, and that have no instance of the handler with source `failure-handler` and the
   * key `<id>:<eventSeq>`. Oldest failure first, at most `limit`; read only (starting the handler
   * with that key is what makes a second pass, or a race with the normal path, start nothing more).
   */
  unhandledFailures(options: { failedAfter: Date; failedBefore: Date; limit: number }): Promise<InstanceRecord[]>;
}
