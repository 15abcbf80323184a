import type { IdempotencyClaim, IdempotencySource } from '../domain/idempotency.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import type {
  InstanceEvent,
  InstanceStatus,
  StepRunEvent,
  StepRunStatus,
} from '../domain/run-state-machine.js';
import type { Page, PageRequest } from './page.js';

/** Why an instance failed. */
export interface InstanceFailure {
  readonly stepId: string;
  readonly attempt: number;
  readonly reason: string;
  readonly details?: JsonValue;
}

export interface StepRunError {
  readonly message: string;
  readonly retryable: boolean;
  readonly details?: JsonObject;
}

export interface InstanceRecord {
  readonly id: string;
  readonly workspaceId: string;
  readonly workflowId: string;
  readonly version: number;
  readonly status: InstanceStatus;
  readonly input: JsonValue;
  /** The key as its source gave it; unique per workflow and source. */
  readonly idempotencyKey: string | null;
  readonly idempotencySource: IdempotencySource | null;
  readonly eventSeq: number;
  readonly currentStepId: string | null;
  readonly error: InstanceFailure | null;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly updatedAt: Date;
}

/**
 * An instance as listed: its input is read on its own (RunStore.readInputs), and `inputBytes` says
 * how large it is (as JSON text) before it is.
 */
export type InstanceHead = Omit<InstanceRecord, 'input'> & { readonly inputBytes: number };

export interface StepRunRecord {
  readonly id: string;
  readonly instanceId: string;
  readonly stepId: string;
  readonly stepType: string;
  readonly status: StepRunStatus;
  readonly attempt: number;
  readonly input: JsonValue | null;
  readonly output: JsonValue | null;
  readonly error: StepRunError | null;
  readonly dueAt: Date;
  readonly leaseUntil: Date | null;
  readonly resumed: boolean;
  readonly lostCount: number;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

/** One entry of an instance's ordered event log. */
export interface InstanceEventRecord {
  readonly instanceId: string;
  readonly seq: number;
  readonly cursor: number;
  readonly workspaceId: string;
  readonly workflowId: string;
  readonly entity: 'INSTANCE' | 'STEP';
  readonly stepId: string | null;
  readonly stepRunId: string | null;
  readonly event: string;
  readonly fromStatus: string | null;
  readonly toStatus: string;
  readonly attempt: number | null;
  readonly detail: JsonObject | null;
  readonly at: Date;
  /** The writing transaction (xid8, decimal). */
  readonly xid: string;
}

/** Fields a transition may set on the instance besides its status. */
export interface InstancePatch {
  readonly currentStepId?: string | null;
  readonly error?: InstanceFailure | null;
  readonly startedAt?: Date;
  readonly finishedAt?: Date | null;
}

/** Fields a transition may set on a step run besides its status. */
export interface StepRunPatch {
  readonly attempt?: number;
  readonly input?: JsonValue;
  readonly output?: JsonValue | null;
  readonly error?: StepRunError | null;
  readonly dueAt?: Date;
  readonly enqueuedAt?: Date;
  readonly leaseUntil?: Date | null;
  readonly resumed?: boolean;
  readonly lostCount?: number;
  readonly startedAt?: Date;
  readonly finishedAt?: Date | null;
}

/**
 * A set of transitions and new step runs committed atomically. Every transition is a
 * compare-and-set on `from`: if any state moved meanwhile, nothing is written. Each transition and
 * new step run appends one event to the instance's log in the same transaction.
 */
export interface RunChange {
  readonly instanceId: string;
  readonly instance?: {
    readonly from: InstanceStatus;
    readonly to: InstanceStatus;
    readonly event: InstanceEvent;
    readonly patch?: InstancePatch;
    readonly detail?: JsonObject;
  };
  /** Fields set on the instance without a transition (e.g. the step now running). */
  readonly instancePatch?: InstancePatch;
  readonly steps?: readonly {
    readonly stepRunId: string;
    readonly stepId: string;
    readonly from: StepRunStatus;
    readonly to: StepRunStatus;
    readonly event: StepRunEvent;
    /** The attempt the event belongs to, for the log. */
    readonly attempt: number;
    readonly patch?: StepRunPatch;
    readonly detail?: JsonObject;
  }[];
  readonly newStepRuns?: readonly {
    readonly id: string;
    readonly stepId: string;
    readonly stepType: string;
    readonly status: 'SCHEDULED' | 'SKIPPED';
    readonly dueAt: Date;
    readonly detail?: JsonObject;
  }[];
}

/** The result of a commit: the events written, or a conflict (some state had moved). */
export type CommitResult =
  | { readonly ok: true; readonly events: readonly InstanceEventRecord[] }
  | { readonly ok: false };

export interface NewInstance {
  readonly id: string;
  readonly workspaceId: string;
  readonly workflowId: string;
  readonly version: number;
  readonly input: JsonValue;
  readonly idempotency?: IdempotencyClaim;
  readonly firstStep: { readonly stepRunId: string; readonly stepId: string; readonly stepType: string };
}

/** Durable state of runs: instances, step runs and their event log. Postgres is the source of truth. */
export interface RunStore {
  /**
   * Creates a PENDING instance with its first step run SCHEDULED, in one transaction. With an
   * idempotency key its source already used for this workflow, returns that instance (`created: false`).
   */
  createInstance(input: NewInstance): Promise<{ instance: InstanceRecord; created: boolean; events: readonly InstanceEventRecord[] }>;
  /** The step run and its instance, for a worker about to run it. */
  loadForExecution(stepRunId: string): Promise<{ stepRun: StepRunRecord; instance: InstanceRecord } | undefined>;
  commit(change: RunChange): Promise<CommitResult>;
  /** Extends a running step's lease; false when the step is no longer RUNNING at that attempt. */
  extendLease(stepRunId: string, attempt: number, until: Date): Promise<boolean>;
  /** Outputs of SUCCEEDED step runs of an instance, for the given step ids. */
  outputsOf(instanceId: string, stepIds: readonly string[]): Promise<Record<string, JsonValue>>;

  getInstance(workspaceId: string, id: string): Promise<InstanceRecord | undefined>;
  listInstances(
    workspaceId: string,
    filter: { workflowId: string; status?: InstanceStatus },
    page: PageRequest,
  ): Promise<Page<InstanceHead>>;
  /** Trigger inputs of these instances, by id. */
  readInputs(instanceIds: readonly string[]): Promise<Map<string, JsonValue>>;
  countByStatus(workflowId: string): Promise<Partial<Record<InstanceStatus, number>>>;
  listStepRuns(instanceId: string): Promise<StepRunRecord[]>;
  /** Step runs not yet finished (SCHEDULED, RETRYING, RUNNING) of an instance. */
  activeStepRuns(instanceId: string): Promise<StepRunRecord[]>;
  /** The newest FAILED step run of an instance. */
  failedStepRun(instanceId: string): Promise<StepRunRecord | undefined>;
  listEvents(instanceId: string, page: { afterSeq: number; first: number }): Promise<InstanceEventRecord[]>;
  /**
   * A workflow's events written by transactions with ids in [fromXid, toXid), in cursor order,
   * after `afterCursor`. Once `toXid` is at most {@link RunStore.visibleXidHorizon}, the set is final.
   */
  workflowEvents(query: {
    workspaceId: string;
    workflowId: string;
    fromXid: bigint;
    toXid: bigint;
    afterCursor: number;
    limit: number;
  }): Promise<InstanceEventRecord[]>;
  /**
   * The oldest transaction id still running (`pg_snapshot_xmin`): every transaction below it has
   * finished, so events below it can no longer appear.
   */
  visibleXidHorizon(): Promise<bigint>;
  /**
   * {@link RunStore.visibleXidHorizon} and the first `limit` events of
   * {@link RunStore.workflowEvents} from `fromXid` up to it, read together in one statement (a live
   * stream's round then costs one round trip, not two).
   */
  workflowEventsToHorizon(query: {
    workspaceId: string;
    workflowId: string;
    fromXid: bigint;
    limit: number;
  }): Promise<{ horizon: bigint; events: InstanceEventRecord[] }>;

  /**
   * Due work whose job may be lost: runnable step runs due before `dueBefore` and last enqueued
   * before `enqueuedBefore`. Marks them enqueued now (so concurrent sweeps do not take them too).
   */
  claimOverdue(options: { dueBefore: Date; enqueuedBefore: Date; limit: number }): Promise<{ id: string; dueAt: Date }[]>;
  /** RUNNING step runs whose lease expired before `now`. */
  expiredLeases(options: { now: Date; limit: number }): Promise<StepRunRecord[]>;
}
