import type { StepRecord } from '../domain/run-context.js';
import type { CommitResult, InstanceEventRecord, InstanceRecord, NewInstance, RunChange, StepRunRecord } from './run-records.js';

/**
 * What the engine writes, and reads to decide what to write: instances are created, step runs
 * claimed, run and finished through compare-and-set commits, and running attempts keep their lease.
 * Postgres is the source of truth.
 */
export interface RunCommandStore {
  /**
   * Creates a PENDING instance with its first step run SCHEDULED, in one transaction. With an
   * idempotency key its source already used for this workflow, returns that instance (`created: false`).
   */
  createInstance(input: NewInstance): Promise<{ instance: InstanceRecord; created: boolean; events: readonly InstanceEventRecord[] }>;
  /**
   * {@link createInstance} for many at once, in one transaction, answered in input order: each
   * created, or the instance already holding its idempotency key, or undefined when its workflow
   * is not (or no longer) active, which creates nothing for it.
   */
  createInstances(
    inputs: readonly NewInstance[],
  ): Promise<({ instance: InstanceRecord; created: boolean; events: readonly InstanceEventRecord[] } | undefined)[]>;
  /** The step run and its instance, as stored now, for a worker about to claim it. */
  loadForExecution(stepRunId: string): Promise<{ stepRun: StepRunRecord; instance: InstanceRecord } | undefined>;
  /**
   * Applies a whole {@link RunChange} or nothing (`ok: false` when any compare-and-set missed).
   * Otherwise rejects with a `PortFailure`: `retryable` when the store could not be reached (the
   * same change may be tried again), not retryable when the change itself cannot be stored.
   */
  commit(change: RunChange): Promise<CommitResult>;
  /**
   * Extends a running attempt's lease to `leaseMs` from now on the database's clock; false when
   * the step run is no longer RUNNING at that fence (cancelled, or taken over by another worker).
   */
  extendLease(lease: { stepRunId: string; fence: number; leaseMs: number }): Promise<boolean>;
  /**
   * Records of the finished step runs of an instance that later steps may read, for the given
   * step ids: SUCCEEDED ones (their output), and FAILED ones that followed their `error` edge
   * (their error, as output and as `error`).
   */
  outputsOf(instanceId: string, stepIds: readonly string[]): Promise<Record<string, StepRecord>>;
}
