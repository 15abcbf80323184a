import { and, asc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { ScheduleRecord, ScheduleStore } from '../ports/schedule.store.port.js';
import type { Db } from './database.js';
import { toScheduleRecord } from './schedule-rows.js';
import { workflowSchedules } from './tables/workflow-schedule.table.js';
import { isUuid } from './workflow.repository.js';

/** Drizzle implementation of the schedule store (the publish's writes go through DraftSession). */
export class ScheduleRepository implements ScheduleStore {
  constructor(private readonly db: Db) {}

  async get(workspaceId: string, workflowId: string): Promise<ScheduleRecord | undefined> {
    if (!isUuid(workflowId)) return undefined;
    const [row] = await this.db
      .select()
      .from(workflowSchedules)
      .where(and(eq(workflowSchedules.workflowId, workflowId), eq(workflowSchedules.workspaceId, workspaceId)));
    return row ? toScheduleRecord(row) : undefined;
  }

  async claimDue(args: { now: Date; limit: number; claimMs: number; owner: string }): Promise<ScheduleRecord[]> {
    // One statement: rows another worker is claiming right now are skipped, not waited for, and
    // the claim commits before any instance is started.
    const claimable = this.db
      .select({ id: workflowSchedules.workflowId })
      .from(workflowSchedules)
      .where(
        and(
          lte(workflowSchedules.nextTickAt, args.now),
          or(isNull(workflowSchedules.claimedUntil), lte(workflowSchedules.claimedUntil, args.now)),
        ),
      )
      .orderBy(asc(workflowSchedules.nextTickAt))
      .limit(args.limit)
      .for('update', { skipLocked: true });
    const rows = await this.db
      .update(workflowSchedules)
      .set({ claimedUntil: new Date(args.now.getTime() + args.claimMs), claimedBy: args.owner })
      .where(inArray(workflowSchedules.workflowId, claimable))
      .returning();
    return rows.map(toScheduleRecord).sort((a, b) => a.nextTickAt.getTime() - b.nextTickAt.getTime());
  }

  async advance(args: { workflowId: string; version: number; from: Date; next: Date | undefined; firedTick?: Date }): Promise<boolean> {
    const claimed = and(
      eq(workflowSchedules.workflowId, args.workflowId),
      eq(workflowSchedules.version, args.version),
      eq(workflowSchedules.nextTickAt, args.from),
    );
    if (args.next === undefined) {
      const gone = await this.db.delete(workflowSchedules).where(claimed).returning({ id: workflowSchedules.workflowId });
      return gone.length > 0;
    }
    const moved = await this.db
      .update(workflowSchedules)
      .set({
        nextTickAt: args.next,
        ...(args.firedTick ? { lastTickAt: args.firedTick } : {}),
        claimedUntil: null,
        claimedBy: null,
        updatedAt: new Date(),
      })
      .where(claimed)
      .returning({ id: workflowSchedules.workflowId });
    return moved.length > 0;
  }

  async advanceMany(moves: readonly { workflowId: string; version: number; from: Date; next: Date | undefined; firedTick?: Date }[]): Promise<boolean[]> {
    const results = moves.map(() => false);
    const onward = moves.map((move, i) => ({ move, i })).filter(({ move }) => move.next !== undefined);
    // Those that never fire again are rare: removed one by one.
    await Promise.all(moves.map(async (move, i) => (move.next === undefined ? (results[i] = await this.advance(move)) : undefined)));
    if (onward.length === 0) return results;
    const moved = await this.db.execute<{ i: number }>(sql`
      update ${workflowSchedules} s
      set next_tick_at = v.next, last_tick_at = coalesce(v.fired, s.last_tick_at), claimed_until = null, claimed_by = null, updated_at = now()
      from jsonb_to_recordset(${JSON.stringify(
        onward.map(({ move, i }) => ({
          i,
          workflow_id: move.workflowId,
          version: move.version,
          from_tick: move.from.toISOString(),
          next: move.next!.toISOString(),
          fired: move.firedTick?.toISOString() ?? null,
        })),
      )}::jsonb) as v (i integer, workflow_id uuid, version integer, from_tick timestamptz, next timestamptz, fired timestamptz)
      where s.workflow_id = v.workflow_id and s.version = v.version and s.next_tick_at = v.from_tick
      returning v.i`);
    for (const row of moved) results[Number(row.i)] = true;
    return results;
  }

  async nextDueAt(): Promise<Date | undefined> {
    const [row] = await this.db
      .select({
        at: sql<Date | null>`min(greatest(${workflowSchedules.nextTickAt}, coalesce(${workflowSchedules.claimedUntil}, ${workflowSchedules.nextTickAt})))`.mapWith(
          workflowSchedules.nextTickAt,
        ),
      })
      .from(workflowSchedules);
    return row?.at ?? undefined;
  }
}
