import type { IdempotencyClaim, IdempotencySource } from '../domain/idempotency.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import type {
  InstanceEvent,
  InstanceStatus,
  StepRunEvent,
  StepRunStatus,
} from '../domain/run-state-machine.js';
import type { WaitArrival, WaitReason, WaitTarget } from '../domain/wait.js';

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
  /** True when the step followed its `error` edge and the instance went on. */
  readonly handled?: boolean;
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
  /** While WAITING: what for (see WaitReason); null in every other state. */
  readonly waitReason: WaitReason | null;
  readonly error: InstanceFailure | null;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly updatedAt: Date;
}

/**
 * An instance as listed: its input is read on its own (RunQueryStore.readInputs), and `inputBytes`
 * says how large it is (as JSON text) before it is.
 */
export type InstanceHead = Omit<InstanceRecord, 'input'> & { readonly inputBytes: number };

export interface StepRunRecord {
  readonly id: string;
  readonly instanceId: string;
  readonly stepId: string;
  readonly stepType: string;
  readonly status: StepRunStatus;
  /**
   * The number of the latest attempt (0 before the first): every start but the end of a wait
   * raises it, and it keeps counting across retryInstance.
   */
  readonly attempt: number;
  /** Attempts started before the latest retryInstance; the retry policy counts only the ones after. */
  readonly attemptsBeforeRetry: number;
  readonly input: JsonValue | null;
  readonly output: JsonValue | null;
  readonly error: StepRunError | null;
  readonly dueAt: Date;
  readonly leaseUntil: Date | null;
  readonly resumed: boolean;
  /** Set by its `wait`: what the step waits (or waited) for. */
  readonly waitReason: WaitReason | null;
  /** Set by a `wake`: what ended its wait before the due time, for the attempt that resumes it. */
  readonly arrival: WaitArrival | null;
  /** How often the worker running it vanished (its lease expired). */
  readonly lostCount: number;
  /** How often a stopping worker handed it back unfinished. */
  readonly handbackCount: number;
  /**
   * The fencing number of the current (or last) attempt: every start raises it by one, and every
   * later write of that attempt (lease extension, outcome, hand-back) names it, so a worker whose
   * lease was taken away can no longer write anything. It never repeats for a step run.
   */
  readonly fence: number;
  /** The worker that holds (or last held) the step's lease. */
  readonly leaseOwner: string | null;
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
  /** Set with a `wait`; cleared by the store whenever the instance leaves WAITING. */
  readonly waitReason?: WaitReason;
  readonly error?: InstanceFailure | null;
  readonly startedAt?: Date;
  readonly finishedAt?: Date | null;
}

/** Fields a transition may set on a step run besides its status. */
export interface StepRunPatch {
  readonly attempt?: number;
  readonly attemptsBeforeRetry?: number;
  readonly input?: JsonValue;
  readonly output?: JsonValue | null;
  readonly error?: StepRunError | null;
  readonly dueAt?: Date;
  readonly enqueuedAt?: Date;
  readonly leaseUntil?: Date | null;
  readonly resumed?: boolean;
  readonly waitReason?: WaitReason | null;
  readonly arrival?: WaitArrival | null;
  readonly lostCount?: number;
  readonly handbackCount?: number;
  readonly startedAt?: Date;
  readonly finishedAt?: Date | null;
}

/** A worker taking a step's lease: raises its fence by one and holds it for `leaseMs` of the database's clock. */
export interface LeaseClaim {
  readonly owner: string;
  readonly leaseMs: number;
}

/** One step-run transition of a {@link RunChange}. */
export interface StepRunTransition {
  readonly stepRunId: string;
  readonly stepId: string;
  readonly from: StepRunStatus;
  readonly to: StepRunStatus;
  readonly event: StepRunEvent;
  /** The attempt the event belongs to, for the log. */
  readonly attempt: number;
  /** Compare-and-set on the step run's fence as well as its status (every write of a running attempt sets it). */
  readonly fence?: number;
  /** Takes the lease (a start): fence + 1, the owner, and a lease measured on the database's clock. */
  readonly claim?: LeaseClaim;
  /** Applies only if the lease has run out by the database's clock (the sweep's hand-back of a lost worker). */
  readonly leaseExpired?: true;
  /** Raises the fence by one without taking the lease (a `wake`: a start computed before it must miss). */
  readonly raiseFence?: true;
  readonly patch?: StepRunPatch;
  readonly detail?: JsonObject;
}

/** A step run a {@link RunChange} creates: waiting for a job, skipped, or already taken by the committing worker. */
export type NewStepRun = {
  readonly id: string;
  readonly stepId: string;
  readonly stepType: string;
  readonly dueAt: Date;
  readonly detail?: JsonObject;
} & (
  | { readonly status: 'SCHEDULED' | 'SKIPPED' }
  /** Created running, at fence 1 and attempt 1: the committing worker runs it next, without a job. */
  | { readonly status: 'RUNNING'; readonly claim: LeaseClaim; readonly input: JsonValue; readonly startDetail?: JsonObject }
);

/**
 * A set of transitions and new step runs committed atomically. Every transition is a
 * compare-and-set on `from` (and on the fence where given): if any state moved meanwhile, nothing
 * is written. Each transition and new step run appends one event to the instance's log in the
 * same transaction (a step run created RUNNING appends two: scheduled, then started).
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
  /** Without an instance transition: the instance must be in this state (e.g. a step starts only in a running instance). */
  readonly instanceIs?: InstanceStatus;
  /** Fields set on the instance without a transition (e.g. the step now running). */
  readonly instancePatch?: InstancePatch;
  readonly steps?: readonly StepRunTransition[];
  readonly newStepRuns?: readonly NewStepRun[];
  /**
   * Registers what a step that begins to wait (in `steps`) may be woken by, at the fence it waits
   * at. The registration lapses by itself once the step leaves SCHEDULED or its fence moves.
   */
  readonly wait?: { readonly stepRunId: string; readonly fence: number; readonly workspaceId: string; readonly target: WaitTarget };
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
