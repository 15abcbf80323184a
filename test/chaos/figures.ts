import { expectedKey, type ReceivedCall } from '../support/call-receiver.js';
import { isWorkerLost, percentile, type EventRow } from '../support/run-reader.js';

/**
 * A job may be handed to a worker this much before its due time and run (timers are not exact);
 * a delay resuming earlier than that counts as early.
 */
export const EARLY_ALLOWANCE_MS = 25;

/** What the receiver saw, per step of each instance (from the call's path, so calls without a key count too). */
export interface CallFigures {
  readonly calls: number;
  /** Steps of instances that were called at least once. */
  readonly stepsCalled: number;
  /** Calls beyond the first of their step. */
  readonly duplicateCalls: number;
  readonly stepsCalledMoreThanOnce: number;
  /** Calls without the idempotency header. */
  readonly callsWithoutKey: number;
  /** Calls whose key is not `<instanceId>:<stepId>`. */
  readonly callsWithWrongKey: number;
  /** Re-sends whose key differs from their first send's, or is missing. */
  readonly duplicatesNotKeyedLikeFirst: number;
}

export function callFigures(calls: readonly ReceivedCall[]): CallFigures {
  const byStep = groupCalls(calls);
  let duplicates = 0;
  let twice = 0;
  let notLikeFirst = 0;
  for (const sends of byStep.values()) {
    if (sends.length < 2) continue;
    twice++;
    duplicates += sends.length - 1;
    const first = sends[0]!;
    for (const again of sends.slice(1)) if (again.key === null || again.key !== first.key || again.key !== expectedKey(again)) notLikeFirst++;
  }
  return {
    calls: calls.length,
    stepsCalled: byStep.size,
    duplicateCalls: duplicates,
    stepsCalledMoreThanOnce: twice,
    callsWithoutKey: calls.filter((c) => c.key === null).length,
    callsWithWrongKey: calls.filter((c) => c.key !== null && c.key !== expectedKey(c)).length,
    duplicatesNotKeyedLikeFirst: notLikeFirst,
  };
}

/** Calls by `<instanceId>:<stepId>` (from the path), each list in arrival order. */
export function groupCalls(calls: readonly ReceivedCall[]): Map<string, ReceivedCall[]> {
  const byStep = new Map<string, ReceivedCall[]>();
  for (const call of calls) {
    if (!call.instanceId || !call.stepId) continue;
    const key = expectedKey(call);
    byStep.set(key, [...(byStep.get(key) ?? []), call]);
  }
  return byStep;
}

/** How the delays of one step (`stepId`) of every instance went. */
export interface DelayFigures {
  /** Step runs that waited. */
  readonly delays: number;
  /** Waited but never went on. */
  readonly notResumed: number;
  /** Went on before their due time (less {@link EARLY_ALLOWANCE_MS}). */
  readonly early: number;
  /** Waited more than once, or went on more than once without a lost worker in between. */
  readonly double: number;
  /** Time from the due time to the step's success, ms. */
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly latenessMaxMs: number;
  /** Went on more than a second late. */
  readonly lateOver1s: number;
  /** The event logs of a few early or double delays (`step:event@ms after the due time`), to see what happened. */
  readonly samples: string[];
}

/** A worker taking a step: a new attempt (`start`) or the end of a wait (`resume`). */
const isClaim = (e: EventRow): boolean => e.entity === 'STEP' && (e.event === 'start' || e.event === 'resume');

export function delayFigures(events: readonly EventRow[], stepId: string): DelayFigures {
  const byRun = eventsByStepRun(events.filter((e) => e.stepId === stepId));
  const lateness: number[] = [];
  let delays = 0;
  let notResumed = 0;
  let early = 0;
  let double = 0;
  const samples: string[] = [];
  for (const runEvents of byRun.values()) {
    const waits = runEvents.filter((e) => e.event === 'wait');
    if (waits.length === 0) continue;
    delays++;
    const firstWait = waits[0]!;
    const until = Date.parse(String(firstWait.detail?.until));
    const after = runEvents.filter((e) => e.seq > firstWait.seq);
    // The claims after the wait that were not lost: the resume, or a start after a lost resume.
    const resumes = after.filter((e, i) => isClaim(e) && after[i + 1]?.event !== 'lose');
    const story = () => runEvents.map((e) => `${e.event}@${e.at - until}`).join(' ');
    if (waits.length > 1 || resumes.length > 1) {
      double++;
      if (samples.length < 3) samples.push(`double: ${story()}`);
    }
    const succeeded = after.find((e) => e.event === 'succeed');
    if (!succeeded) {
      notResumed++;
      continue;
    }
    if (succeeded.at < until - EARLY_ALLOWANCE_MS || after.some((e) => isClaim(e) && e.at < until - EARLY_ALLOWANCE_MS)) {
      early++;
      if (samples.length < 3) samples.push(`early: ${story()}`);
    }
    lateness.push(Math.max(0, succeeded.at - until));
  }
  return {
    delays,
    notResumed,
    early,
    double,
    latenessP50Ms: percentile(lateness, 50),
    latenessP99Ms: percentile(lateness, 99),
    latenessMaxMs: lateness.length ? Math.max(...lateness) : 0,
    lateOver1s: lateness.filter((l) => l > 1_000).length,
    samples,
  };
}

/** Events by step run, each list in seq order (events come sorted by instance and seq). */
export function eventsByStepRun(events: readonly EventRow[]): Map<string, EventRow[]> {
  const byRun = new Map<string, EventRow[]>();
  for (const e of events) {
    if (e.entity !== 'STEP' || !e.stepRunId) continue;
    byRun.set(e.stepRunId, [...(byRun.get(e.stepRunId) ?? []), e]);
  }
  return byRun;
}

/** Instances whose log has a step of theirs start or succeed while the instance was WAITING on another step. */
export function ranWhileWaiting(events: readonly EventRow[]): string[] {
  const offenders = new Set<string>();
  let instance = '';
  let status = '';
  let waitingOn: string | null = null;
  for (const e of events) {
    if (e.instanceId !== instance) {
      instance = e.instanceId;
      status = '';
      waitingOn = null;
    }
    if (e.entity === 'INSTANCE') {
      status = e.toStatus;
      continue;
    }
    if (e.event === 'wait') waitingOn = e.stepId;
    if (status === 'WAITING' && e.stepId !== waitingOn && (isClaim(e) || e.event === 'succeed')) offenders.add(e.instanceId);
  }
  return [...offenders];
}

/** Instances whose event log is not 1, 2, 3, ... */
export function eventLogGaps(events: readonly EventRow[]): number {
  const seqs = new Map<string, number[]>();
  for (const e of events) seqs.set(e.instanceId, [...(seqs.get(e.instanceId) ?? []), e.seq]);
  let gaps = 0;
  for (const list of seqs.values()) if (list.some((s, i) => s !== i + 1)) gaps++;
  return gaps;
}

export const workerLostEvents = (events: readonly EventRow[]): number => events.filter(isWorkerLost).length;

/** One target of a scenario: the figure, the bound it must meet, whether it does. */
export interface Target {
  readonly actual: number | boolean | null;
  readonly target: string;
  readonly met: boolean;
}

/** Targets by name, built with {@link atMost} and {@link exactly}. */
export type Targets = Record<string, Target>;

export const atMost = (actual: number | null, limit: number): Target => ({
  actual,
  target: `<= ${limit}`,
  met: actual !== null && Number.isFinite(actual) && actual <= limit,
});

export const exactly = (actual: number | boolean | null, expected: number | boolean): Target => ({
  actual,
  target: `= ${expected}`,
  met: actual === expected,
});

/** What every scenario returns: its figures, its targets, and whether all of them are met. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly size: number;
  readonly figures: Record<string, unknown>;
  readonly targets: Targets;
  readonly meets: boolean;
  /** Names of the targets not met. */
  readonly unmet: string[];
}

export function verdict(scenario: string, size: number, figures: Record<string, unknown>, targets: Targets): ScenarioResult {
  const unmet = Object.entries(targets)
    .filter(([, t]) => !t.met)
    .map(([name]) => name);
  return { scenario, size, figures, targets, meets: unmet.length === 0, unmet };
}
