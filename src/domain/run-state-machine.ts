/**
 * The state machines of a run: one for the workflow instance, one for each step run. Pure
 * transition tables: `(state, event) -> next state`, and anything not in a table is illegal.
 * Storage applies a transition with a compare-and-set on the state it was computed from.
 */

export const INSTANCE_STATUSES = ['PENDING', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export const STEP_RUN_STATUSES = ['SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'RETRYING', 'SKIPPED', 'CANCELLED'] as const;
export type StepRunStatus = (typeof STEP_RUN_STATUSES)[number];

/** What can happen to an instance. */
export type InstanceEvent = 'start' | 'wait' | 'resume' | 'complete' | 'fail' | 'cancel' | 'retry';

/** What can happen to a step run. */
export type StepRunEvent =
  /** A worker takes the step for a new attempt (the first, a retry, or after a lost or stopped worker). */
  | 'start'
  /** A worker takes the step at the end of its wait: the attempt that began waiting goes on. */
  | 'resume'
  | 'succeed'
  | 'fail'
  /** The attempt failed and another is due later. */
  | 'retry'
  /** The step parks until a due time (a delay, or a wait's timeout) and runs again then. */
  | 'wait'
  /**
   * What a waiting step waits for arrived (an event): it is due at once, with the arrival stored
   * for its next attempt, and its fence is raised so that a start computed before cannot miss it.
   */
  | 'wake'
  /** The worker running it vanished (its lease expired); it runs again. */
  | 'lose'
  /** A stopping worker handed it back unfinished; another worker runs it again at once. */
  | 'release'
  | 'cancel'
  /** `retryInstance` runs a failed step again: another attempt is due at once. */
  | 'reschedule';

const INSTANCE_TABLE: Readonly<Record<InstanceEvent, Partial<Record<InstanceStatus, InstanceStatus>>>> = {
  start: { PENDING: 'RUNNING' },
  wait: { RUNNING: 'WAITING' },
  resume: { WAITING: 'RUNNING' },
  complete: { RUNNING: 'COMPLETED' },
  fail: { RUNNING: 'FAILED' },
  cancel: { PENDING: 'CANCELLED', RUNNING: 'CANCELLED', WAITING: 'CANCELLED' },
  retry: { FAILED: 'RUNNING' },
};

const STEP_TABLE: Readonly<Record<StepRunEvent, Partial<Record<StepRunStatus, StepRunStatus>>>> = {
  start: { SCHEDULED: 'RUNNING', RETRYING: 'RUNNING' },
  resume: { SCHEDULED: 'RUNNING' },
  succeed: { RUNNING: 'SUCCEEDED' },
  fail: { RUNNING: 'FAILED' },
  retry: { RUNNING: 'RETRYING' },
  wait: { RUNNING: 'SCHEDULED' },
  wake: { SCHEDULED: 'SCHEDULED' },
  lose: { RUNNING: 'RETRYING' },
  release: { RUNNING: 'RETRYING' },
  cancel: { SCHEDULED: 'CANCELLED', RETRYING: 'CANCELLED', RUNNING: 'CANCELLED' },
  reschedule: { FAILED: 'RETRYING' },
};

/** An event that does not apply to the current state. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly machine: 'instance' | 'step',
    readonly from: string,
    readonly event: string,
  ) {
    super(`Illegal ${machine} transition: '${event}' from ${from}`);
    this.name = 'IllegalTransitionError';
  }
}

/** The instance state after `event`, or IllegalTransitionError. */
export function nextInstanceStatus(from: InstanceStatus, event: InstanceEvent): InstanceStatus {
  const to = INSTANCE_TABLE[event][from];
  if (!to) throw new IllegalTransitionError('instance', from, event);
  return to;
}

/** The step-run state after `event`, or IllegalTransitionError. */
export function nextStepRunStatus(from: StepRunStatus, event: StepRunEvent): StepRunStatus {
  const to = STEP_TABLE[event][from];
  if (!to) throw new IllegalTransitionError('step', from, event);
  return to;
}

export const isTerminalInstance = (s: InstanceStatus): boolean =>
  s === 'COMPLETED' || s === 'FAILED' || s === 'CANCELLED';

/** Whether a status read as text (an event's `toStatus`) is an instance status. */
export const isInstanceStatus = (s: string): s is InstanceStatus => (INSTANCE_STATUSES as readonly string[]).includes(s);

/** States in which a step run waits for a job to run it. */
export const isRunnableStep = (s: StepRunStatus): boolean => s === 'SCHEDULED' || s === 'RETRYING';

/** Every (from, event, to) of both machines, for documentation and exhaustive tests. */
export const transitionTables = { instance: INSTANCE_TABLE, step: STEP_TABLE } as const;
