import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { JsonObject, JsonValue } from '../../domain/json.js';
import { connectionOf } from '../common/connection.type.js';
import { JSONObjectScalar, JSONScalar } from '../common/scalars.js';

export enum InstanceStatus {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  WAITING = 'WAITING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(InstanceStatus, {
  name: 'InstanceStatus',
  description: 'PENDING → RUNNING ⇄ WAITING → COMPLETED | FAILED | CANCELLED.',
});

export enum StepRunStatus {
  SCHEDULED = 'SCHEDULED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  RETRYING = 'RETRYING',
  SKIPPED = 'SKIPPED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(StepRunStatus, { name: 'StepRunStatus' });

export enum WaitReason {
  TIMER = 'TIMER',
  EVENT = 'EVENT',
  MESSAGE = 'MESSAGE',
}
registerEnumType(WaitReason, {
  name: 'WaitReason',
  description: 'What a WAITING instance (and its waiting step) waits for: its due time (TIMER: a delay), an event (EVENT: wait.forEvent), an inbound message (MESSAGE).',
});

/** Who gave an instance's idempotency key; the same key from two sources names two instances. */
export enum IdempotencySource {
  GRAPHQL = 'GRAPHQL',
  WEBHOOK = 'WEBHOOK',
  META = 'META',
  TWILIO = 'TWILIO',
  FAILURE_HANDLER = 'FAILURE_HANDLER',
  SCHEDULE = 'SCHEDULE',
}
registerEnumType(IdempotencySource, {
  name: 'IdempotencySource',
  description:
    'Who gave an idempotency key: startWorkflow (GRAPHQL), a webhook call (WEBHOOK), an inbound provider (META, TWILIO: its message id), the failure of an instance of a workflow that names this one as its failure handler (FAILURE_HANDLER: the failed instance id and the seq of its failure), or a tick of its schedule trigger (SCHEDULE: the ISO time of the tick). Keys are unique per workflow and source.',
});

@ObjectType({ description: 'Why an instance failed.' })
export class InstanceFailure {
  @Field(() => ID)
  stepId!: string;

  @Field(() => Int)
  attempt!: number;

  @Field(() => String)
  reason!: string;
}

@ObjectType({ description: "The error of a step's latest failed attempt." })
export class StepRunError {
  @Field(() => String)
  message!: string;

  @Field(() => Boolean, { description: 'Whether trying again could help.' })
  retryable!: boolean;

  @Field(() => Boolean, {
    description:
      "True when the step followed its `error` edge: it is FAILED, its output is this error (message, code, attempt, status, details) and the instance went on.",
  })
  handled!: boolean;

  @Field(() => JSONObjectScalar, { nullable: true })
  details!: JsonObject | null;
}

export enum StepAttemptStatus {
  RUNNING = 'RUNNING',
  WAITING = 'WAITING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  LOST = 'LOST',
  HANDED_BACK = 'HANDED_BACK',
  CANCELLED = 'CANCELLED',
}
registerEnumType(StepAttemptStatus, {
  name: 'StepAttemptStatus',
  description: 'How one attempt of a step went, or is going.',
  valuesConfig: {
    RUNNING: { description: 'A worker is running it.' },
    WAITING: { description: 'Parked by a delay; the same attempt goes on when the delay is due.' },
    SUCCEEDED: { description: 'It succeeded.' },
    FAILED: { description: 'It failed (`retryAt` is set when another attempt followed).' },
    LOST: { description: 'Its worker stopped responding; another attempt followed, not counted against the retry policy (or, the third time, the step failed).' },
    HANDED_BACK: { description: 'A stopping worker handed it back unfinished; another attempt followed, not counted against the retry policy.' },
    CANCELLED: { description: 'The instance was cancelled while it ran or waited.' },
  },
});

@ObjectType({ description: 'Why an attempt did not succeed.' })
export class StepAttemptError {
  @Field(() => String)
  message!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'The provider\'s or action\'s reason (`RECIPIENT_INVALID`, `TIMEOUT`, `DELIVERY_UNCERTAIN`...), `HTTP_<status>`, `STEP_FAILED`, or `WORKER_LOST` / `WORKER_STOPPED`; null for attempts logged before codes were.',
  })
  code!: string | null;

  @Field(() => Int, { nullable: true, description: 'The HTTP status of the answer that failed it, where there was one.' })
  httpStatus!: number | null;
}

@ObjectType({ description: "One attempt of a step run, read from its instance's event log." })
export class StepAttempt {
  @Field(() => Int, {
    description:
      '1, 2, 3... in the order the attempts started, counting on across retryInstance. The end of a delay is not a new attempt.',
  })
  number!: number;

  @Field(() => StepAttemptStatus)
  status!: StepAttemptStatus;

  @Field(() => Date)
  startedAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Null while it runs or waits.' })
  finishedAt!: Date | null;

  @Field(() => StepAttemptError, { nullable: true })
  error!: StepAttemptError | null;

  @Field(() => Date, { nullable: true, description: 'For a failed attempt the retry policy followed with another: when that one was due.' })
  retryAt!: Date | null;
}

@ObjectType({ description: 'One step of one instance, with its attempts and timings.' })
export class StepRun {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  stepId!: string;

  @Field(() => String)
  stepType!: string;

  @Field(() => StepRunStatus)
  status!: StepRunStatus;

  @Field(() => Int, {
    description: 'The number of the latest attempt (0 before the first): attempts started so far, counting on across retryInstance.',
  })
  attempt!: number;

  /** Its instance, to read its attempts from the log. */
  instanceId!: string;

  /** Its attempts, when they were read with the instance's other step runs. */
  attemptsRead?: StepAttempt[];

  @Field(() => JSONScalar, { nullable: true, description: "The step's config when it first ran." })
  input!: JsonValue | null;

  @Field(() => JSONScalar, { nullable: true })
  output!: JsonValue | null;

  @Field(() => StepRunError, { nullable: true })
  error!: StepRunError | null;

  @Field(() => Date, { description: 'When it is (or was) due to run.' })
  dueAt!: Date;

  @Field(() => WaitReason, {
    nullable: true,
    description: 'Set once the step has waited: what for. While it waits (SCHEDULED after a `wait` event) dueAt is its due time or timeout.',
  })
  waitReason!: WaitReason | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;
}

@ObjectType({ description: "One entry of an instance's ordered event log." })
export class InstanceEvent {
  @Field(() => ID)
  instanceId!: string;

  @Field(() => Int, { description: 'Position in the instance log: 1, 2, 3... without gaps.' })
  seq!: number;

  @Field(() => String, { description: 'INSTANCE or STEP.' })
  entity!: string;

  @Field(() => ID, { nullable: true })
  stepId!: string | null;

  @Field(() => String, { description: 'What happened: start, wait, resume, succeed, retry, fail, cancel...' })
  event!: string;

  @Field(() => String, { nullable: true })
  fromStatus!: string | null;

  @Field(() => String)
  toStatus!: string;

  @Field(() => Int, { nullable: true })
  attempt!: number | null;

  @Field(() => JSONObjectScalar, { nullable: true })
  detail!: JsonObject | null;

  @Field(() => Date)
  at!: Date;
}

@ObjectType({ description: 'One run of a published workflow version.' })
export class WorkflowInstance {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  workflowId!: string;

  @Field(() => Int, { description: 'The published version this instance is pinned to.' })
  version!: number;

  @Field(() => InstanceStatus)
  status!: InstanceStatus;

  @Field(() => String, { description: 'The status as a dashboard shows it: "In progress", "Waiting", "Completed"...' })
  statusLabel!: string;

  /** Set when the input is at hand (one instance); otherwise read when asked for (InstanceResolver.input). */
  input?: JsonValue;

  /** Size of the input as stored, to weigh it before it is read. */
  inputBytes?: number;

  @Field(() => String, { nullable: true, description: 'The key as its source gave it.' })
  idempotencyKey!: string | null;

  @Field(() => IdempotencySource, { nullable: true, description: 'Who gave idempotencyKey; null when there is none.' })
  idempotencySource!: IdempotencySource | null;

  @Field(() => ID, { nullable: true, description: 'The step running, waiting or due next.' })
  currentStepId!: string | null;

  @Field(() => WaitReason, { nullable: true, description: 'While WAITING: what for; null in every other state.' })
  waitReason!: WaitReason | null;

  @Field(() => InstanceFailure, { nullable: true })
  error!: InstanceFailure | null;

  @Field(() => Int, { description: 'Seq of the newest event.' })
  eventSeq!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => Date)
  updatedAt!: Date;
}

export const WorkflowInstanceConnection = connectionOf(WorkflowInstance, 'WorkflowInstance');

@ObjectType({ description: 'How many instances of a workflow are in each status.' })
export class InstanceCounts {
  @Field(() => Int) pending!: number;
  @Field(() => Int) running!: number;
  @Field(() => Int) waiting!: number;
  @Field(() => Int) completed!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Int) cancelled!: number;
  @Field(() => Int) total!: number;
}

@ObjectType()
export class StartWorkflowResult {
  @Field(() => WorkflowInstance)
  instance!: WorkflowInstance;

  @Field(() => Boolean, { description: 'False when the idempotency key returned an instance started earlier.' })
  created!: boolean;
}
