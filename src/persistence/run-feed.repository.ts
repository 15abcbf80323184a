import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { RunFeedStore } from '../ports/run-feed.store.port.js';
import type { InstanceEventRecord } from '../ports/run-records.js';
import type { Db } from './database.js';
import { toEventRecord, type InstanceEventSqlRow } from './run-rows.js';
import { instanceEvents } from './tables/instance-event.table.js';
import { isUuid } from './workflow.repository.js';

/** A workflow's events in commit order, by Postgres transaction ids (xid8) as positions. */
export class RunFeedRepository implements RunFeedStore {
  constructor(private readonly db: Db) {}

  workflowEvents(query: {
    workspaceId: string;
    workflowId: string;
    fromPosition: bigint;
    toPosition: bigint;
    afterCursor: number;
    limit: number;
  }): Promise<InstanceEventRecord[]> {
    if (!isUuid(query.workflowId)) return Promise.resolve([]);
    return this.db
      .select()
      .from(instanceEvents)
      .where(
        and(
          eq(instanceEvents.workflowId, query.workflowId),
          eq(instanceEvents.workspaceId, query.workspaceId),
          sql`${instanceEvents.xid} >= ${query.fromPosition.toString()}::xid8`,
          sql`${instanceEvents.xid} < ${query.toPosition.toString()}::xid8`,
          gt(instanceEvents.cursor, query.afterCursor),
        ),
      )
      .orderBy(asc(instanceEvents.cursor))
      .limit(query.limit);
  }

  async workflowEventsToHorizon(query: { workspaceId: string; workflowId: string; fromPosition: bigint; limit: number }) {
    // One row even when no event qualifies (its event columns null), so the horizon always comes back.
    const rows = await this.db.execute<{ horizon: string } & Partial<InstanceEventSqlRow>>(sql`
      with h as (select pg_snapshot_xmin(pg_current_snapshot()) as x)
      select h.x::text as horizon, e.* from h
      left join lateral (
        select * from ${instanceEvents}
        where workflow_id = ${isUuid(query.workflowId) ? query.workflowId : null}::uuid
          and workspace_id = ${query.workspaceId}
          and xid >= ${query.fromPosition.toString()}::xid8 and xid < h.x
        order by cursor
        limit ${query.limit}
      ) e on true`);
    return {
      horizon: BigInt(rows[0]!.horizon),
      events: rows.filter((r) => r.instance_id != null).map((r) => toEventRecord(r as InstanceEventSqlRow)),
    };
  }

  async horizon(): Promise<bigint> {
    const rows = await this.db.execute<{ xmin: string }>(sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`);
    return BigInt(rows[0]!.xmin);
  }
}
