import type { Logger } from 'pino';
import type { ActionCatalog, ActionServices } from '../ports/action.port.js';
import type { Clock } from '../ports/clock.port.js';
import type { RunCommandStore } from '../ports/run-command.store.port.js';
import type { InstanceEventRecord } from '../ports/run-records.js';
import type { StepScheduler } from '../ports/step-scheduler.port.js';
import type { VersionCache } from './version-cache.js';

/** Timing settings of the engine; they come from validated configuration. */
export interface EngineTimings {
  /** How long a worker holds a running step before others may take it over; extended while it runs. */
  readonly leaseMs: number;
  /** Longest a single attempt may run before it is aborted. */
  readonly stepTimeoutMs: number;
}

/** Told after every committed transition, in commit order per instance. */
export type RunEventListener = (events: readonly InstanceEventRecord[]) => void;

/** What the engine works with, all behind ports. */
export interface EngineDeps {
  readonly runs: RunCommandStore;
  readonly versions: VersionCache;
  readonly registry: ActionCatalog;
  readonly scheduler: StepScheduler;
  readonly services: ActionServices;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timings: EngineTimings;
  /**
   * This worker process's name, unique among the workers of a deployment: the owner of the leases
   * it takes, recorded in its step start events.
   */
  readonly workerName: string;
  readonly onEvents?: RunEventListener;
  /**
   * Told after a commit that fails an instance, and after such a commit that missed its
   * compare-and-set (an earlier try of it may have applied): starts the workflow's failure handler
   * if the instance is FAILED as stored (see FailureHandlers).
   */
  readonly onInstanceFailed?: (failed: InstanceFailedNotice) => Promise<void>;
  /**
   * Told after a commit that parks a step waiting for something that may come sooner than its due
   * time (an event): wakes it at once with what was kept for it, if anything (see EventWaits).
   */
  readonly onWaitBegan?: (wait: { readonly stepRunId: string }) => Promise<void>;
  /**
   * Told after a commit that made steps due now whose jobs are being enqueued (woken waits): a
   * worker may start them ahead of their jobs (see DueStepsChannel).
   */
  readonly onStepsDue?: (stepRunIds: readonly string[]) => void;
}

/** Which instance may have failed, and the step run whose failure it recorded. */
export interface InstanceFailedNotice {
  readonly instanceId: string;
  readonly stepRunId: string;
}
