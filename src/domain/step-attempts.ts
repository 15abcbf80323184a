import { isJsonObject, type JsonObject } from './json.js';

/** How one attempt of a step run went (or is going). */
export const STEP_ATTEMPT_STATUSES = ['RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'LOST', 'HANDED_BACK', 'CANCELLED'] as const;
export type StepAttemptStatus = (typeof STEP_ATTEMPT_STATUSES)[number];

/** Why an attempt did not succeed. */
export interface StepAttemptError {
  readonly message: string;
  /**
   * Machine-readable: the provider's or action's reason (`RECIPIENT_INVALID`, `TIMEOUT`...),
   * `HTTP_<status>`, `STEP_FAILED`, or `WORKER_LOST` / `WORKER_STOPPED` for an attempt its worker
   * did not finish. Null for failures logged before codes were.
   */
  readonly code: string | null;
  /** The HTTP status of the answer that failed it, where there was one. */
  readonly httpStatus: number | null;
}

/** One attempt of a step run, as its instance's event log tells it. */
export interface StepAttempt {
  /** 1, 2, 3... in the order the attempts started, over the step run's whole life (retryInstance included). */
  readonly number: number;
  readonly status: StepAttemptStatus;
  readonly startedAt: Date;
  /** When it succeeded, failed or ended without its worker; null while it runs or waits. */
  readonly finishedAt: Date | null;
  readonly error: StepAttemptError | null;
  /** When the next attempt was due, for a failed attempt the retry policy followed with another. */
  readonly retryAt: Date | null;
}

/** A step event as {@link stepAttempts} reads it: one entry of the step run's log, in log order. */
export interface StepAttemptEvent {
  readonly event: string;
  readonly detail: JsonObject | null;
  readonly at: Date;
}

/** Reason codes of the log entries of attempts that their worker did not finish. */
export const WORKER_LOST = 'WORKER_LOST';
export const WORKER_STOPPED = 'WORKER_STOPPED';

interface Open {
  number: number;
  status: StepAttemptStatus;
  startedAt: Date;
  finishedAt: Date | null;
  error: StepAttemptError | null;
  retryAt: Date | null;
}

const text = (detail: JsonObject | null, key: string): string | null => {
  const v = detail?.[key];
  return typeof v === 'string' ? v : null;
};

const errorOf = (detail: JsonObject | null, fallbackCode: string | null): StepAttemptError => {
  const status = detail?.status;
  return {
    message: text(detail, 'reason') ?? 'failed',
    code: text(detail, 'code') ?? fallbackCode,
    httpStatus: typeof status === 'number' ? status : null,
  };
};

const dateOf = (detail: JsonObject | null, key: string): Date | null => {
  const v = text(detail, key);
  if (v === null) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};

/**
 * The attempts of one step run from its events in log order. Every `start` begins an attempt; the
 * end of a wait (`resume`, or in logs written before that event existed a `start` marked
 * `resumed`) goes on with the attempt that began waiting. `reschedule` (retryInstance) and
 * `schedule` begin none: the start after them does.
 */
export function stepAttempts(events: readonly StepAttemptEvent[]): StepAttempt[] {
  const attempts: Open[] = [];
  let current: Open | undefined;
  const finish = (status: StepAttemptStatus, at: Date, error: StepAttemptError | null = null, retryAt: Date | null = null) => {
    if (!current) return;
    Object.assign(current, { status, finishedAt: at, error, retryAt });
    current = undefined;
  };
  for (const e of events) {
    const detail = isJsonObject(e.detail) ? e.detail : null;
    switch (e.event) {
      case 'start':
        if (detail?.resumed === true && current) {
          current.status = 'RUNNING';
          break;
        }
        current = { number: attempts.length + 1, status: 'RUNNING', startedAt: e.at, finishedAt: null, error: null, retryAt: null };
        attempts.push(current);
        break;
      case 'resume':
        if (current) current.status = 'RUNNING';
        break;
      case 'wait':
        if (current) current.status = 'WAITING';
        break;
      case 'succeed':
        finish('SUCCEEDED', e.at);
        break;
      case 'retry':
        finish('FAILED', e.at, errorOf(detail, null), dateOf(detail, 'retryAt'));
        break;
      case 'fail':
        // The sweep fails a step whose workers kept vanishing: that attempt, too, was lost.
        finish(text(detail, 'code') === WORKER_LOST ? 'LOST' : 'FAILED', e.at, errorOf(detail, null));
        break;
      case 'lose':
        finish('LOST', e.at, errorOf(detail, WORKER_LOST));
        break;
      case 'release':
        finish('HANDED_BACK', e.at, errorOf(detail, WORKER_STOPPED));
        break;
      case 'cancel':
        finish('CANCELLED', e.at);
        break;
    }
  }
  return attempts.map((a) => ({ ...a }));
}
