import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';
import type { JsonObject } from '../domain/json.js';
import { planTick, type PlannedFire, type Schedule } from '../domain/schedule.js';
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
  readonly runner: Pick<WorkflowRunner, 'start'>;
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
}

/** Schedules claimed per pass; a full batch is followed by another pass at once. */
const BATCH = 100;
/** Fires started at once within a pass. */
const LANES = 8;
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
    const { schedules, clock, owner } = this.options;
    const claimed = await schedules.claimDue({ now: clock.now(), limit: BATCH, claimMs: this.options.claimMs ?? 10_000, owner });
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) {
        const row = claimed[next++]!;
        try {
          await this.fire(row);
        } catch (err) {
          // Left claimed: another pass (here or elsewhere) fires the tick once the claim runs out.
          this.options.logger.error({ err, workflowId: row.workflowId, tick: row.nextTickAt }, 'could not fire a schedule tick');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LANES, claimed.length) }, lane));
    return claimed.length;
  }

  private async run(): Promise<void> {
    const { schedules, clock, logger, pollMs } = this.options;
    while (!this.stopped) {
      let sleep = pollMs;
      try {
        while (!this.stopped && (await this.pass()) === BATCH);
        const due = await schedules.nextDueAt();
        if (due !== undefined) sleep = Math.min(pollMs, due.getTime() - clock.now().getTime());
      } catch (err) {
        logger.error({ err }, 'schedule pass failed');
      }
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

  private async fire(row: ScheduleRecord): Promise<void> {
    const { schedules, catalog, runner, clock, logger } = this.options;
    const schedule = catalog.get(row.triggerType)?.schedule?.(row.config);
    if (!schedule) {
      // The deployment no longer has the type, or the config no longer parses: nothing can fire.
      logger.error({ workflowId: row.workflowId, type: row.triggerType }, 'removing a schedule whose trigger this server cannot read');
      await schedules.advance({ workflowId: row.workflowId, version: row.version, from: row.nextTickAt, next: undefined });
      return;
    }
    const now = clock.now();
    const plan = planTick({ schedule, due: row.nextTickAt, now, lateAfterMs: this.options.missedAfterMs });
    if (plan.fire) {
      try {
        await runner.start(
          { workspaceId: row.workspaceId },
          {
            workflowId: row.workflowId,
            version: row.version,
            input: scheduleTickInput({ fire: plan.fire, schedule, firedAt: now }),
            idempotency: { source: 'schedule', key: scheduleTickKey(plan.fire.tickAt) },
          },
        );
      } catch (err) {
        // A workflow that cannot be started (archived meanwhile, whose transaction removed the
        // schedule already; an input over the limit) loses this tick; anything else, such as the
        // database failing, leaves the claim to run out and the tick to be fired again.
        if (!(err instanceof AppError)) throw err;
        logger.warn({ err, workflowId: row.workflowId, tick: plan.fire.tickAt }, 'a schedule tick could not start its workflow');
      }
    } else {
      logger.warn({ workflowId: row.workflowId, due: row.nextTickAt, next: plan.next }, 'skipped missed schedule ticks');
    }
    await schedules.advance({
      workflowId: row.workflowId,
      version: row.version,
      from: row.nextTickAt,
      next: plan.next,
      firedTick: plan.fire?.missed?.until ?? plan.fire?.tickAt,
    });
  }
}
