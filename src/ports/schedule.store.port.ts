import type { JsonObject } from '../domain/json.js';

/**
 * The schedule of a workflow whose newest published version starts with a schedule trigger: one
 * per workflow, written by the publish that made that version (in its transaction) and removed by
 * archiving, by a publish whose trigger is not a schedule, and with the workflow.
 */
export interface ScheduleRecord {
  readonly workflowId: string;
  readonly workspaceId: string;
  /** The published version whose trigger it is; a tick starts that version. */
  readonly version: number;
  readonly triggerStepId: string;
  readonly triggerType: string;
  /** The trigger's config as published: the ticks are computed from it. */
  readonly config: JsonObject;
  /** The next tick to fire; at or before now while it is due. */
  readonly nextTickAt: Date;
  /** The newest tick fired (or skipped as missed); null before the first. */
  readonly lastTickAt: Date | null;
  readonly updatedAt: Date;
}

/** What a publish stores for its version's schedule. */
export type NewSchedule = Pick<ScheduleRecord, 'version' | 'triggerStepId' | 'triggerType' | 'config' | 'nextTickAt'>;

/**
 * Durable schedules, and the due-time claims that make each tick fire once among many workers:
 * a worker claims due schedules for a short time, starts their instances (keyed by the tick) and
 * moves each on with a compare-and-set on the tick it claimed.
 */
export interface ScheduleStore {
  /** The schedule of a workflow of this workspace; undefined when it has none. */
  get(workspaceId: string, workflowId: string): Promise<ScheduleRecord | undefined>;
  /**
   * Claims up to `limit` schedules whose next tick is at or before `now` and that no other worker
   * holds, for `claimMs`, oldest tick first. A worker that dies holding one leaves it to the
   * others once the claim runs out.
   */
  claimDue(args: { now: Date; limit: number; claimMs: number; owner: string }): Promise<ScheduleRecord[]>;
  /**
   * Moves a claimed schedule on from the tick it was claimed at (`from`, of `version`) to `next`,
   * releasing the claim; `next` undefined removes the schedule (it never fires again). False, and
   * nothing written, when the schedule changed meanwhile (republished, archived, moved by another
   * worker). `firedTick` becomes `lastTickAt` (kept when undefined: the ticks were skipped).
   */
  advance(args: { workflowId: string; version: number; from: Date; next: Date | undefined; firedTick?: Date }): Promise<boolean>;
  /** {@link advance} for many schedules at once (a pass's), answered in order. */
  advanceMany(moves: readonly { workflowId: string; version: number; from: Date; next: Date | undefined; firedTick?: Date }[]): Promise<boolean[]>;
  /**
   * When the soonest schedule becomes due for a claim (its tick, or the end of another worker's
   * claim on it); undefined when there are none.
   */
  nextDueAt(): Promise<Date | undefined>;
}
