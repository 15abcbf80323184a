import type { ActionResult } from '../ports/action.port.js';
import type { ActionError } from '../domain/action-error.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import type { WaitArrival, WaitTarget } from '../domain/wait.js';
import { toStorableJson } from '../domain/storable-json.js';
import { ERROR_PORT } from '../domain/graph.js';
import { WORKER_LOST, WORKER_STOPPED } from '../domain/step-attempts.js';
import type { InstanceRecord, LeaseClaim, NewStepRun, RunChange, StepRunRecord, StepRunTransition } from '../ports/run-records.js';
import type { CompiledVersion } from './compiled-version.js';
import type { WaitingStep } from '../ports/wait.store.port.js';
import { instanceMove, stepMove } from './transitions.js';

/** A worker that vanished this often while running one step fails it: the step itself may crash workers. */
export const MAX_LOST_WORKERS = 3;

/** The attempt an outcome belongs to, as its worker claimed it. */
export interface ClaimedAttempt {
  readonly instance: InstanceRecord;
  readonly stepRun: StepRunRecord;
}

/** What to do after an outcome's change has committed. */
export interface OutcomePlan {
  readonly change: RunChange;
  /** A job to schedule for a step run (now when `at` is absent). */
  readonly enqueue?: { readonly stepRunId: string; readonly at?: Date };
  /** The next step, created running by the change: the committing worker runs it itself. */
  readonly next?: ClaimedAttempt;
}

/** How an outcome is planned. */
export interface OutcomeOptions {
  readonly attempt: ClaimedAttempt;
  readonly version: CompiledVersion;
  readonly now: Date;
  /**
   * The lease the next step is claimed with when this worker runs it itself; undefined hands it
   * to the scheduler instead (a stopping worker).
   */
  readonly chain: LeaseClaim | undefined;
  readonly newId: () => string;
}

/**
 * Attempts that count against the retry policy: every start since the step began (or since
 * retryInstance ran it again) but those whose worker vanished or handed the step back, which say
 * nothing about the step itself.
 */
export const countedAttempts = (stepRun: StepRunRecord): number =>
  stepRun.attempt - stepRun.attemptsBeforeRetry - stepRun.lostCount - stepRun.handbackCount;

/** The fenced transition of the running attempt: the compare-and-set every outcome starts from. */
const fenced = (stepRun: StepRunRecord) => ({
  stepRunId: stepRun.id,
  stepId: stepRun.stepId,
  attempt: stepRun.attempt,
  fence: stepRun.fence,
});

/**
 * Targets of the ports a branching step did not take whose every incoming edge comes from
 * those ports: they can no longer run in this instance, so they are recorded as SKIPPED.
 */
function unreachableAfter(version: CompiledVersion, stepId: string, taken: string) {
  const outgoing = version.outgoing(stepId);
  if (outgoing.length < 2) return [];
  const result = [];
  for (const edge of outgoing) {
    if (edge.port === taken || edge.to === version.target(stepId, taken)) continue;
    if (version.incoming(edge.to).every((e) => e.from === stepId && e.port !== taken)) {
      const s = version.step(edge.to);
      if (s) result.push(s);
    }
  }
  return result;
}

/**
 * A wait as it is stored: a reply that ends a message wait also starts workflows when the step
 * says so or the version was published with the workflow setting repliesAlsoStartWorkflows.
 * Decided as the wait begins, from the instance's pinned version: later drafts change nothing.
 */
const storedTarget = (target: WaitTarget | undefined, version: CompiledVersion): WaitTarget | undefined =>
  target?.reason === 'message' && version.repliesAlsoStartWorkflows ? { ...target, alsoStartsWorkflows: true } : target;

/**
 * The change that records an action's result: park the step (wait), end the instance, or move on
 * to the next step — created running for this worker when `chain` is given (the outcome of one
 * step and the claim of the next commit together), otherwise scheduled as a job.
 */
export function planResult(options: OutcomeOptions & { readonly result: ActionResult }): OutcomePlan {
  const { attempt, version, now, chain, newId, result } = options;
  const { instance, stepRun } = attempt;
  const stored = toStorableJson(result.output);
  const output = stored.value;
  const sanitized: JsonObject | undefined = stored.replaced ? { outputSanitized: true } : undefined;

  if (result.kind === 'wait') {
    const target = storedTarget(result.for, version);
    const waitReason = target?.reason ?? 'timer';
    const until = result.until.toISOString();
    const on: JsonObject =
      target === undefined
        ? {}
        : target.reason === 'event'
          ? { for: waitReason, name: target.name, key: target.key }
          : { for: waitReason, channel: target.channel, from: target.contact };
    return {
      change: {
        instanceId: instance.id,
        instance: { ...instanceMove('RUNNING', 'wait'), patch: { waitReason }, detail: { until, ...on } },
        steps: [
          {
            ...fenced(stepRun),
            ...stepMove('RUNNING', 'wait'),
            patch: { dueAt: result.until, enqueuedAt: now, resumed: true, leaseUntil: null, output, waitReason, arrival: null },
            detail: { until, ...on, ...sanitized },
          },
        ],
        // Waiting at the fence of this attempt: the wait changes no fence.
        ...(target ? { wait: { stepRunId: stepRun.id, fence: stepRun.fence, workspaceId: instance.workspaceId, target } } : {}),
      },
      enqueue: { stepRunId: stepRun.id, at: result.until },
    };
  }

  const port = result.kind === 'continue' ? result.port : undefined;
  const done: StepRunTransition = {
    ...fenced(stepRun),
    ...stepMove('RUNNING', 'succeed'),
    patch: { output, leaseUntil: null, finishedAt: now, error: null },
    detail: port === undefined && sanitized === undefined ? undefined : { ...(port === undefined ? {} : { port }), ...sanitized },
  };
  return moveOn({ ...options, done, port });
}

/**
 * Records a finished step (`done`, its transition) and goes on along `port`: the next step is
 * created running for this worker when `chain` is given (the outcome of one step and the claim of
 * the next commit together), otherwise scheduled as a job; without a next step the instance
 * completes. Steps only the ports not taken lead to are recorded as SKIPPED.
 */
function moveOn(options: OutcomeOptions & { readonly done: StepRunTransition; readonly port: string | undefined }): OutcomePlan {
  const { attempt, version, now, chain, newId, done, port } = options;
  const { instance, stepRun } = attempt;
  const nextStepId = port === undefined ? undefined : version.target(stepRun.stepId, port);
  const skipped: NewStepRun[] = (port === undefined ? [] : unreachableAfter(version, stepRun.stepId, port)).map((s) => ({
    id: newId(),
    stepId: s.id,
    stepType: s.type,
    status: 'SKIPPED',
    dueAt: now,
  }));

  const next = nextStepId === undefined ? undefined : version.step(nextStepId);
  if (!next) {
    return {
      change: {
        instanceId: instance.id,
        instance: { ...instanceMove('RUNNING', 'complete'), patch: { finishedAt: now, currentStepId: null } },
        steps: [done],
        newStepRuns: skipped,
      },
    };
  }

  const nextRunId = newId();
  const base = { id: nextRunId, stepId: next.id, stepType: next.type, dueAt: now };
  const change: RunChange = {
    instanceId: instance.id,
    instanceIs: 'RUNNING',
    instancePatch: chain ? { currentStepId: next.id } : undefined,
    steps: [done],
    newStepRuns: [
      ...skipped,
      chain
        ? { ...base, status: 'RUNNING', claim: chain, input: next.config, startDetail: { worker: chain.owner } }
        : { ...base, status: 'SCHEDULED' },
    ],
  };
  if (!chain) return { change, enqueue: { stepRunId: nextRunId } };
  return {
    change,
    next: {
      instance: { ...instance, currentStepId: next.id },
      stepRun: {
        id: nextRunId,
        instanceId: instance.id,
        stepId: next.id,
        stepType: next.type,
        status: 'RUNNING',
        attempt: 1,
        attemptsBeforeRetry: 0,
        input: next.config,
        output: null,
        error: null,
        dueAt: now,
        leaseUntil: null,
        resumed: false,
        waitReason: null,
        arrival: null,
        lostCount: 0,
        handbackCount: 0,
        fence: 1,
        leaseOwner: chain.owner,
        createdAt: now,
        startedAt: now,
        finishedAt: null,
      },
    },
  };
}

/**
 * The change that ends a wait early: what the step waited for arrived. The step stays SCHEDULED
 * but is due now, with the arrival stored for the attempt that resumes it. Fenced on the fence it
 * waits at, and raising it: of the wake and the start its timeout's job computed, exactly one
 * applies — the start runs the step as timed out, or the wake makes that start miss and the step
 * runs as woken. Applies only while the instance waits (a cancel wins over a later wake).
 */
export function planWake(options: {
  readonly step: WaitingStep;
  readonly arrival: WaitArrival;
  readonly now: Date;
  readonly detail: JsonObject;
}): RunChange {
  const { step, arrival, now, detail } = options;
  return {
    instanceId: step.instanceId,
    instanceIs: 'WAITING',
    steps: [
      {
        stepRunId: step.stepRunId,
        stepId: step.stepId,
        ...stepMove('SCHEDULED', 'wake'),
        attempt: step.attempt,
        fence: step.fence,
        raiseFence: true,
        patch: { dueAt: now, enqueuedAt: now, arrival },
        detail,
      },
    ],
  };
}

/**
 * A failure's machine-readable code (the port's or action's reason, or `HTTP_<status>`, or
 * `STEP_FAILED`) and its HTTP status where there is one.
 */
export function failureCode(details: JsonObject): { readonly code: string; readonly status: number | undefined } {
  const status = typeof details.status === 'number' ? details.status : undefined;
  const named = typeof details.code === 'string' ? details.code : typeof details.reason === 'string' ? details.reason : undefined;
  return { code: named ?? (status === undefined ? 'STEP_FAILED' : `HTTP_${status}`), status };
}

/**
 * What a step that failed and follows its `error` edge gives later steps, as its output and as
 * `steps.<id>.error`: the message, a machine-readable `code` (the port's or action's reason, or
 * `HTTP_<status>`), the attempt that failed, whether trying again could have helped, the HTTP
 * status where there is one, and the failure's details.
 */
export function errorOutput(failure: { message: string; retryable: boolean; details: JsonObject }, attempt: number): JsonObject {
  const { details } = failure;
  const { code, status } = failureCode(details);
  return {
    message: failure.message,
    code,
    attempt,
    retryable: failure.retryable,
    ...(status === undefined ? {} : { status }),
    details,
  };
}

/**
 * The change that records a failed attempt: another attempt later when the failure is retryable
 * and the policy allows one (`retryDelayMs` not null), otherwise the step and its instance fail.
 */
export function planFailure(options: {
  readonly attempt: ClaimedAttempt;
  readonly failure: ActionError;
  readonly retryDelayMs: number | null;
  readonly now: Date;
  /**
   * Given for a step whose type has an `error` port: when the step fails for good and that port
   * has an edge, the step ends FAILED but handled and the run goes on along it (see {@link moveOn}).
   */
  readonly errorEdge?: Omit<OutcomeOptions, 'attempt' | 'now'>;
}): OutcomePlan {
  const { attempt, failure, retryDelayMs, now, errorEdge } = options;
  const { instance, stepRun } = attempt;
  // Error details come from remote answers too (an HTTP error body): keep them storable.
  const details = toStorableJson(failure.details).value as JsonObject;
  const message = toStorableJson(failure.message).value as string;
  const error = { message, retryable: failure.retryable, details };
  // What the attempt's log entry says of the failure (StepRun.attempts reads it back).
  const { code, status } = failureCode(details);
  const logged: JsonObject = { reason: message, code, ...(status === undefined ? {} : { status }) };

  if (retryDelayMs !== null) {
    const dueAt = new Date(now.getTime() + retryDelayMs);
    return {
      change: {
        instanceId: instance.id,
        instanceIs: 'RUNNING',
        steps: [
          {
            ...fenced(stepRun),
            ...stepMove('RUNNING', 'retry'),
            patch: { error, dueAt, enqueuedAt: now, leaseUntil: null },
            detail: { ...logged, retryAt: dueAt.toISOString() },
          },
        ],
      },
      enqueue: { stepRunId: stepRun.id, at: dueAt },
    };
  }
  if (errorEdge && errorEdge.version.target(stepRun.stepId, ERROR_PORT) !== undefined) {
    const caught = errorOutput(error, stepRun.attempt);
    const done: StepRunTransition = {
      ...fenced(stepRun),
      ...stepMove('RUNNING', 'fail'),
      patch: { error: { ...error, handled: true }, output: caught, leaseUntil: null, finishedAt: now },
      detail: { ...logged, handled: true, port: ERROR_PORT },
    };
    return moveOn({ ...errorEdge, attempt, now, done, port: ERROR_PORT });
  }
  return {
    change: {
      instanceId: instance.id,
      instance: {
        ...instanceMove('RUNNING', 'fail'),
        patch: {
          finishedAt: now,
          error: { stepId: stepRun.stepId, attempt: stepRun.attempt, reason: message, details },
        },
        detail: { stepId: stepRun.stepId, attempt: stepRun.attempt, reason: message },
      },
      steps: [
        {
          ...fenced(stepRun),
          ...stepMove('RUNNING', 'fail'),
          patch: { error, leaseUntil: null, finishedAt: now },
          detail: logged,
        },
      ],
    },
  };
}

/**
 * A stopping worker's hand-back of an attempt it could not finish in time: the step is due again
 * at once (for another worker), and the attempt does not count against its retries.
 */
export function planHandBack(options: { readonly attempt: ClaimedAttempt; readonly now: Date; readonly worker: string }): OutcomePlan {
  const { attempt, now, worker } = options;
  const { instance, stepRun } = attempt;
  return {
    change: {
      instanceId: instance.id,
      steps: [
        {
          ...fenced(stepRun),
          ...stepMove('RUNNING', 'release'),
          patch: { leaseUntil: null, dueAt: now, enqueuedAt: now, handbackCount: stepRun.handbackCount + 1 },
          detail: { reason: 'the worker running this step stopped before it finished; another worker runs it again', code: WORKER_STOPPED, worker },
        },
      ],
    },
    enqueue: { stepRunId: stepRun.id },
  };
}

/**
 * The sweep's hand-back of a step whose worker's lease ran out (fenced on the lease it saw, and
 * only if that lease has run out by the database's clock), or its failure after
 * {@link MAX_LOST_WORKERS} such losses.
 */
export function planLost(options: { readonly stepRun: StepRunRecord; readonly now: Date }): OutcomePlan {
  const { stepRun, now } = options;
  const lost = stepRun.lostCount + 1;
  const reason = `the worker running this step stopped responding (${lost} time${lost === 1 ? '' : 's'})`;
  const base = { ...fenced(stepRun), leaseExpired: true as const };
  if (lost >= MAX_LOST_WORKERS) {
    return {
      change: {
        instanceId: stepRun.instanceId,
        instance: {
          ...instanceMove('RUNNING', 'fail'),
          patch: { finishedAt: now, error: { stepId: stepRun.stepId, attempt: stepRun.attempt, reason } },
          detail: { stepId: stepRun.stepId, attempt: stepRun.attempt, reason },
        },
        steps: [
          {
            ...base,
            ...stepMove('RUNNING', 'fail'),
            patch: { lostCount: lost, leaseUntil: null, finishedAt: now, error: { message: reason, retryable: false } },
            detail: { reason, code: WORKER_LOST },
          },
        ],
      },
    };
  }
  // A lost worker does not use up an attempt: the step did not fail, its process did.
  return {
    change: {
      instanceId: stepRun.instanceId,
      steps: [
        {
          ...base,
          ...stepMove('RUNNING', 'lose'),
          patch: { lostCount: lost, leaseUntil: null, dueAt: now, enqueuedAt: now },
          detail: { reason, code: WORKER_LOST, ...(stepRun.leaseOwner ? { worker: stepRun.leaseOwner } : {}) },
        },
      ],
    },
    enqueue: { stepRunId: stepRun.id },
  };
}

export type { JsonValue };
