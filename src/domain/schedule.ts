/**
 * What a workflow started on a schedule does after downtime, when no worker fired its ticks in
 * time (see {@link planTick}): `skip` drops the missed ticks, `runOnce` starts one instance for
 * all of them together.
 */
export const MISSED_TICK_POLICIES = ['skip', 'runOnce'] as const;
export type MissedTickPolicy = (typeof MISSED_TICK_POLICIES)[number];

/**
 * The ticks of a schedule trigger's config: instants, strictly increasing. Pure: the same config
 * gives the same ticks in every process.
 */
export interface Schedule {
  /** The config field that defines the ticks (`cron`, `every`), for messages that name it. */
  readonly field: string;
  /** The IANA zone cron fields are read in; `UTC` for intervals. */
  readonly timeZone: string;
  readonly missedTicks: MissedTickPolicy;
  /**
   * The shortest time between two consecutive ticks, or less: an interval's length, or for cron the
   * shortest gap between two wall-clock times that fire (a daylight-saving change can bring two
   * ticks closer once, by the hour it skips).
   */
  readonly shortestGapMs: number;
  /** The first tick strictly after `after`; undefined when the schedule never fires again. */
  next(after: Date): Date | undefined;
  /** The newest tick at or before `at`; undefined when there is none. */
  latestAtOrBefore(at: Date): Date | undefined;
}

/**
 * Why a schedule is refused by a deployment that lets schedules fire at most once per
 * `minIntervalMs` (0: any rate); undefined when it is accepted.
 */
export const frequencyProblem = (schedule: Schedule, options: { minIntervalMs: number; now: Date }): string | undefined => {
  if (schedule.next(options.now) === undefined) return 'The schedule never fires';
  const gap = schedule.shortestGapMs;
  if (gap < options.minIntervalMs) {
    return `The schedule fires every ${formatDuration(gap)} at times; this server allows at most one tick per ${formatDuration(options.minIntervalMs)}`;
  }
  return undefined;
};

/** A tick to start an instance for, as {@link planTick} decides. */
export interface PlannedFire {
  /** The tick the instance is for: its idempotency key is made from it. */
  readonly tickAt: Date;
  /** `runOnce` after downtime: the ticks, from `tickAt` to `until`, this one instance stands for. */
  readonly missed?: { readonly from: Date; readonly until: Date };
}

/** What to do with a schedule whose stored next tick is due. */
export interface TickPlan {
  /** The instance to start; undefined when the due ticks are skipped. */
  readonly fire?: PlannedFire;
  /** The tick to store as the next one; undefined when the schedule never fires again. */
  readonly next: Date | undefined;
}

/**
 * Plans the firing of a schedule whose stored next tick `due` is at or before `now`.
 *
 * A tick fired within `lateAfterMs` of its time is on time: it fires, and the next one is stored.
 * A tick older than that was missed (no worker ran, or all were far behind); so were the ticks
 * after it up to `now - lateAfterMs`. `skip` drops them all and `runOnce` fires one instance for
 * them, keyed by the oldest (`due`, which stays the stored tick until a fire moves it on, so a
 * fire repeated by another worker gets the same key). Either way the next tick stored is the first
 * after the missed ones, and fires on time by the same rule.
 */
export const planTick = (args: { schedule: Schedule; due: Date; now: Date; lateAfterMs: number }): TickPlan => {
  const { schedule, due, now, lateAfterMs } = args;
  const lateSince = new Date(now.getTime() - lateAfterMs);
  if (due.getTime() >= lateSince.getTime()) return { fire: { tickAt: due }, next: schedule.next(due) };
  const newestMissed = latestOf(schedule.latestAtOrBefore(lateSince), due);
  const next = schedule.next(newestMissed);
  if (schedule.missedTicks === 'skip') return { next };
  return { fire: { tickAt: due, missed: { from: due, until: newestMissed } }, next };
};

const latestOf = (a: Date | undefined, b: Date): Date => (a !== undefined && a.getTime() > b.getTime() ? a : b);

/** `90 s`, `15 min`, `2 h`, `1 day 2 h`: for messages. */
export const formatDuration = (ms: number): string => {
  if (ms < 60_000) return `${trim(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${trim(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${trim(ms / 3_600_000)} h`;
  return `${trim(ms / 86_400_000)} days`;
};

const trim = (n: number): string => String(Math.round(n * 100) / 100);
