import { expectedKey, type ReceivedCall } from '../support/call-receiver.js';
import type { EventRow, StepRunRow } from '../support/run-reader.js';

const OUTCOMES = new Set(['succeed', 'fail', 'retry']);
const stepKey = (e: Pick<EventRow, 'instanceId' | 'stepId'>): string => `${e.instanceId}:${e.stepId}`;

/**
 * Calls `sender` had sent by `at` whose step had no outcome committed by then: their answer was
 * lost with the process, so re-sending them is expected (and only them).
 */
export function callsInFlightAt(options: {
  calls: readonly ReceivedCall[];
  events: readonly EventRow[];
  sender: string;
  at: number;
  /**
   * Calls of no known sender that arrived after `at` but by this time count as the victim's: the
   * receiver names a call's sender when it gets to the new connection, and a process killed
   * before then is gone from /proc, so a call it had already sent arrives unnamed. (Only for a
   * sender that was killed at `at`: it sends nothing after it.)
   */
  orphansUntil?: number;
  /** The sender died at `at` (a kill, an exit), rather than paused. */
  died?: boolean;
}): ReceivedCall[] {
  const outcomes = new Map<string, number[]>();
  for (const e of options.events) {
    if (e.entity === 'STEP' && OUTCOMES.has(e.event)) outcomes.set(stepKey(e), [...(outcomes.get(stepKey(e)) ?? []), e.at]);
  }
  const orphansUntil = options.orphansUntil ?? options.at;
  return options.calls.filter((c) => {
    // A process that died at `at` sends nothing afterwards: its calls arriving later left before.
    const victims = c.sender === options.sender && (options.died === true || c.at <= options.at);
    const orphan = c.sender === undefined && c.at > options.at && c.at <= orphansUntil;
    if (!victims && !orphan) return false;
    const committed = (outcomes.get(expectedKey(c)) ?? []).find((t) => t >= c.at);
    return committed === undefined || committed > options.at;
  });
}

/** How one step cut off by a fault was taken over: ms from the fault to its hand-back and to its next start. */
export interface Takeover {
  readonly key: string;
  /** To the `lose` event; infinite when it never came. */
  readonly handBackMs: number;
  /** To the next start after the hand-back; infinite when it never restarted. */
  readonly restartMs: number;
}

/**
 * For each step a fault cut off (`keys`: `<instanceId>:<stepId>` of its calls in flight), how long
 * it took from the fault to the step's hand-back (`lose`) and to its next start.
 */
export function takeovers(events: readonly EventRow[], faults: readonly { at: number; keys: ReadonlySet<string> }[]): Takeover[] {
  const byStep = new Map<string, EventRow[]>();
  for (const e of events) if (e.entity === 'STEP') byStep.set(stepKey(e), [...(byStep.get(stepKey(e)) ?? []), e]);
  const result: Takeover[] = [];
  for (const fault of faults) {
    for (const key of fault.keys) {
      const later = (byStep.get(key) ?? []).filter((e) => e.at >= fault.at);
      const lost = later.findIndex((e) => e.event === 'lose');
      const restart = lost < 0 ? undefined : later.slice(lost + 1).find((e) => e.event === 'start');
      result.push({
        key,
        handBackMs: lost < 0 ? Number.POSITIVE_INFINITY : later[lost]!.at - fault.at,
        restartMs: restart ? restart.at - fault.at : Number.POSITIVE_INFINITY,
      });
    }
  }
  return result;
}

/** The largest of `values`, or null for none; an infinite one (never happened) stays infinite. */
export const maxOf = (values: readonly number[]): number | null => (values.length ? Math.max(...values) : null);

/**
 * The names a worker process put in `detail.worker` of the start events of steps it called out
 * from (found through calls the receiver attributed to it); empty when starts carry no name.
 */
export function workerNamesOf(options: { calls: readonly ReceivedCall[]; events: readonly EventRow[]; sender: string }): Set<string> {
  const starts = new Map<string, EventRow[]>();
  for (const e of options.events) if (e.entity === 'STEP' && (e.event === 'start' || e.event === 'resume')) starts.set(stepKey(e), [...(starts.get(stepKey(e)) ?? []), e]);
  const names = new Set<string>();
  for (const c of options.calls) {
    if (c.sender !== options.sender) continue;
    const start = (starts.get(expectedKey(c)) ?? []).filter((s) => s.at <= c.at).at(-1);
    const worker = start?.detail?.worker;
    if (typeof worker === 'string') names.add(worker);
  }
  return names;
}

/** The receiver's call number in a step's stored output (`output.body.call`), if any. */
export function committedCall(run: StepRunRow): number | undefined {
  const output = run.output as { body?: { call?: unknown } } | null;
  return typeof output?.body?.call === 'number' ? output.body.call : undefined;
}

/**
 * Steps handed back after `since` whose stored output is the answer to a call `sender` made: the
 * process committed the outcome of an attempt it no longer held.
 */
export function staleCommits(options: { stepRuns: readonly StepRunRow[]; events: readonly EventRow[]; calls: readonly ReceivedCall[]; sender: string; since: number }): string[] {
  const lost = new Set(options.events.filter((e) => e.event === 'lose' && e.at >= options.since).map((e) => e.stepRunId));
  const bySeq = new Map(options.calls.map((c) => [c.seq, c]));
  return options.stepRuns
    .filter((r) => lost.has(r.id))
    .filter((r) => {
      const call = bySeq.get(committedCall(r) ?? -1);
      return call !== undefined && call.sender === options.sender;
    })
    .map((r) => `${r.instanceId}:${r.stepId}`);
}
