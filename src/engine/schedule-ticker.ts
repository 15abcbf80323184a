import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';
import type { JsonObject } from '../domain/json.js';
import { planTick, type PlannedFire, type Schedule, type TickPlan } from '../domain/schedule.js';
import { localIsoTime } from '../domain/schedule-spec.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { Clock } from '../ports/clock.port.js';
import type { ScheduleRecord, ScheduleStore } from '../ports/schedule.store.port.js';
import type { WorkflowRunner } from './workflow-runner.js';

/**
 * The trigger input of a schedule's run: the tick it is for, in UTC and in the schedule's zone, and
 * for a `runOnce` run after downtime the missed ticks it stands for. Templates read it as
 * `{{trigger.tickAt}}`, `{{trigger.localTime}}`, ...
 */
export const scheduleTickInput = (args: { fire: PlannedFire; schedule: Schedule; firedAt: Date }): JsonObject => ({
  tickAt: args.fire.tickAt.toISOString(),
  localTime: localIsoTime(args.fire.tickAt, args.schedule.timeZone),
  timeZone: args.schedule.timeZone,
  firedAt: args.firedAt.toISOString(),
  missed: args.fire.missed ? { from: args.fire.missed.from.toISOString(), until: args.fire.missed.until.toISOString() } : null,
});

/** The idempotency key of a tick's instance (source `schedule`): unique per workflow, like every key. */
export const scheduleTickKey = (tickAt: Date): string => tickAt.toISOString();

export interface ScheduleTickerOptions {
  readonly schedules: ScheduleStore;
  /** Computes a stored trigger's ticks (the action registry). */
  readonly catalog: StepTypeCatalog;
  readonly runner: Pick<WorkflowRunner, 'startMany'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This worker's name, recorded on its claims. */
  readonly owner: string;
  /** The longest the ticker sleeps: how soon it sees a schedule another process published. */
  readonly pollMs: number;
  /** A tick fired later than this after its time was missed (see planTick). */
  readonly missedAfterMs: number;
  /** How long a claim keeps other workers off a due schedule; a dead worker's ticks wait this long. Default 10 s. */
  readonly claimMs?: number;
  /**
   * Runs the first steps of the instances a pass started in this worker (LocalStarts) instead of
   * enqueuing them for any worker.
   */
  readonly runHere?: (stepRunIds: readonly string[]) => void;
}

/** Schedules claimed per pass; a full batch is followed by another pass at once. */
const BATCH = 100;
/**
 * Passes a worker runs at once while schedules are due: a pass is three statements one after the
 * other (claim, start, move on), so a burst of a thousand same-second ticks fired one pass at a
 * time spent most of its second waiting on round trips and commits; claims skip each other's rows.
 */
const PASSES_AT_ONCE = 4;
/** Least sleep between passes, so that a row another transaction holds is not polled in a spin. */
const MIN_SLEEP_MS = 10;

/**
 * Fires schedule triggers in a worker: sleeps until the soonest tick (at most `pollMs`), claims
 * the due schedules, starts each tick's instance and moves the schedule on.
 *
 * Our own due-time rows rather than Agenda's recurring jobs: the schedule is written in the same
 * transaction as the publish (or archive) that makes it, so it is never half-applied and takes
 * effect at once; the missed-ticks policy and daylight-saving rules are ours, tested as pure
 * functions; and it is the same with either scheduler backend (MongoDB has no transaction with
 * the workflow). Each tick fires at least once (a worker that dies mid-fire leaves its claim to
 * run out, and another fires the tick again); the instance's idempotency key, the tick's time in
 * source `schedule`, makes a second fire find the first one's instance, so each tick starts
 * exactly one instance.
 */
export class ScheduleTicker {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wakeSleep: (() => void) | undefined;
  /** First steps of the ticks fired in full passes, run once the ticker has caught up (see pass). */
  private held: string[] = [];
  /** Passes running now: held steps wait for the last of them. */
  private passing = 0;
  /**
   * Each version's schedule, parsed once: a version's trigger config never changes, and checking
   * and parsing it (zod, the zone, the cron) took about 350 µs, a third of a second of CPU for a
   * thousand same-second ticks. Null for a trigger this server cannot read.
   */
  private readonly parsed = new LRUCache<string, { schedule: Schedule | null }>({ max: 10_000 });

  constructor(private readonly options: ScheduleTickerOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Looks for due schedules now instead of at the end of the current sleep. */
  wake(): void {
    this.wakeSleep?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  /**
   * One pass: claims the due schedules (at most a batch) and fires them. Returns how many it
   * claimed; tests call it directly with a controlled clock.
   */
  async pass(): Promise<number> {
    this.passing++;
    let claimed = 0;
    try {
      claimed = await this.fireDue();
    } finally {
      this.passing--;
    }
    // Firing comes first: the steps of full passes wait until no pass is running and one found
    // fewer than a batch due, so a burst of ticks is not slowed by its own instances' work on
    // this worker's connections.
    if (claimed < BATCH && this.passing === 0) this.runHeld();
    return claimed;
  }

  private async fireDue(): Promise<number> {
    const { schedules, clock, owner, logger } = this.options;
    const claimed = await schedules.claimDue({ now: clock.now(), limit: BATCH, claimMs: this.options.claimMs ?? 10_000, owner });
    if (claimed.length === 0) return 0;
    const now = clock.now();
    const planned = claimed.map((row) => ({ row, plan: this.plan(row, now) }));
    const fires = planned.flatMap(({ row, plan }) => (plan?.fire ? [{ row, fire: plan.fire, schedule: plan.schedule }] : []));
    let outcomes: Awaited<ReturnType<WorkflowRunner['startMany']>>;
    try {
      // One statement starts the whole batch: a thousand same-second ticks are a few statements, not thousands.
      outcomes = await this.options.runner.startMany(
        fires.map(({ row, fire, schedule }) => ({
          workspaceId: row.workspaceId,
          workflowId: row.workflowId,
          version: row.version,
          input: scheduleTickInput({ fire, schedule, firedAt: now }),
          idempotency: { source: 'schedule', key: scheduleTickKey(fire.tickAt) },
        })),
        { runHere: this.options.runHere && ((ids) => this.held.push(...ids)) },
      );
    } catch (err) {
      // Left claimed: another pass (here or elsewhere) fires the ticks once the claims run out.
      logger.error({ err, schedules: fires.length }, 'could not fire schedule ticks');
      return claimed.length;
    }
    outcomes.forEach((outcome, i) => {
      // A workflow that cannot be started (archived meanwhile, whose transaction removed the
      // schedule already; an input over the limit) loses this tick.
      if (outcome instanceof AppError) {
        logger.warn({ err: outcome, workflowId: fires[i]!.row.workflowId, tick: fires[i]!.fire.tickAt }, 'a schedule tick could not start its workflow');
      }
    });
    try {
      await this.advanceAll(planned);
    } catch (err) {
      // Left claimed: once the claims run out the ticks are fired again, and their keys find their instances.
      logger.error({ err, schedules: planned.length }, 'could not move schedules on');
    }
    return claimed.length;
  }

  private runHeld(): void {
    if (this.held.length === 0) return;
    const ids = this.held;
    this.held = [];
    this.options.runHere?.(ids);
  }

  private async run(): Promise<void> {
    const { schedules, clock, logger, pollMs } = this.options;
    while (!this.stopped) {
      let sleep = pollMs;
      try {
        // One pass, then while it found a full batch, several at once until they find fewer.
        if (!this.stopped && (await this.pass()) === BATCH) {
          const drain = async () => {
            while (!this.stopped && (await this.pass()) === BATCH);
          };
          await Promise.all(Array.from({ length: PASSES_AT_ONCE }, drain));
        }
        const due = await schedules.nextDueAt();
        if (due !== undefined) sleep = Math.min(pollMs, due.getTime() - clock.now().getTime());
      } catch (err) {
        logger.error({ err }, 'schedule pass failed');
      }
      this.runHeld();
      if (this.stopped) break;
      await this.sleep(Math.max(MIN_SLEEP_MS, sleep));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.timer);
        this.wakeSleep = undefined;
        resolve();
      };
      this.wakeSleep = done;
      this.timer = setTimeout(done, ms);
      this.timer.unref();
    });
  }

  /** What is due of a claimed schedule; undefined when this server cannot read its trigger. */
  private plan(row: ScheduleRecord, now: Date): (TickPlan & { schedule: Schedule }) | undefined {
    const key = `${row.workflowId}/${row.version}/${row.triggerType}`;
    let known = this.parsed.get(key);
    if (!known) {
      known = { schedule: this.options.catalog.get(row.triggerType)?.schedule?.(row.config) ?? null };
      this.parsed.set(key, known);
    }
    const { schedule } = known;
    if (!schedule) return undefined;
    const plan = planTick({ schedule, due: row.nextTickAt, now, lateAfterMs: this.options.missedAfterMs });
    if (!plan.fire) this.options.logger.warn({ workflowId: row.workflowId, due: row.nextTickAt, next: plan.next }, 'skipped missed schedule ticks');
    return { ...plan, schedule };
  }

  private async advanceAll(planned: readonly { row: ScheduleRecord; plan: (TickPlan & { schedule: Schedule }) | undefined }[]): Promise<void> {
    for (const { row, plan } of planned) {
      // The deployment no longer has the type, or the config no longer parses: nothing can fire.
      if (!plan) this.options.logger.error({ workflowId: row.workflowId, type: row.triggerType }, 'removing a schedule whose trigger this server cannot read');
    }
    await this.options.schedules.advanceMany(
      planned.map(({ row, plan }) => ({
        workflowId: row.workflowId,
        version: row.version,
        from: row.nextTickAt,
        next: plan?.next,
        firedTick: plan?.fire?.missed?.until ?? plan?.fire?.tickAt,
      })),
    );
  }
}
