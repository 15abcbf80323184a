import type { IdempotencySource as DomainIdempotencySource } from '../../domain/idempotency.js';
import type { InstanceEventRecord, InstanceHead, InstanceRecord, StepRunRecord } from '../../ports/run-records.js';
import type { StepAttempt as DomainStepAttempt } from '../../domain/step-attempts.js';
import type { WaitReason as DomainWaitReason } from '../../domain/wait.js';
import {
  IdempotencySource,
  InstanceEvent,
  InstanceStatus,
  StepAttempt,
  StepAttemptError,
  StepAttemptStatus,
  StepRun,
  StepRunStatus,
  WaitReason,
  WorkflowInstance,
} from './instance.type.js';

export const STATUS_LABELS: Readonly<Record<InstanceStatus, string>> = {
  PENDING: 'Pending',
  RUNNING: 'In progress',
  WAITING: 'Waiting',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};

const IDEMPOTENCY_SOURCES: Readonly<Record<DomainIdempotencySource, IdempotencySource>> = {
  graphql: IdempotencySource.GRAPHQL,
  webhook: IdempotencySource.WEBHOOK,
  meta: IdempotencySource.META,
  twilio: IdempotencySource.TWILIO,
  'failure-handler': IdempotencySource.FAILURE_HANDLER,
  schedule: IdempotencySource.SCHEDULE,
};

const WAIT_REASONS: Readonly<Record<DomainWaitReason, WaitReason>> = {
  timer: WaitReason.TIMER,
  event: WaitReason.EVENT,
  message: WaitReason.MESSAGE,
};
const waitReasonOf = (reason: DomainWaitReason | null): WaitReason | null => (reason === null ? null : WAIT_REASONS[reason]);

export const toInstance = (r: InstanceRecord | InstanceHead): WorkflowInstance =>
  Object.assign(new WorkflowInstance(), {
    ...r,
    status: r.status as InstanceStatus,
    statusLabel: STATUS_LABELS[r.status as InstanceStatus],
    idempotencySource: r.idempotencySource === null ? null : IDEMPOTENCY_SOURCES[r.idempotencySource],
    waitReason: waitReasonOf(r.waitReason),
  });

export const toStepRun = (r: StepRunRecord): StepRun =>
  Object.assign(new StepRun(), {
    ...r,
    status: r.status as StepRunStatus,
    waitReason: waitReasonOf(r.waitReason),
    error: r.error
      ? { message: r.error.message, retryable: r.error.retryable, handled: r.error.handled === true, details: r.error.details ?? null }
      : null,
  });

export const toEvent = (r: InstanceEventRecord): InstanceEvent => Object.assign(new InstanceEvent(), r);

export const toStepAttempt = (a: DomainStepAttempt): StepAttempt =>
  Object.assign(new StepAttempt(), {
    ...a,
    status: a.status as StepAttemptStatus,
    error: a.error ? Object.assign(new StepAttemptError(), a.error) : null,
  });
