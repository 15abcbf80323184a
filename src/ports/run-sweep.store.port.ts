import type { StepRunRecord } from './run-records.js';

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
}
