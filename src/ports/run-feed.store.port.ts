import type { InstanceEventRecord } from './run-records.js';

/**
 * The live feed of a workflow's events in commit order. Each event carries the commit position of
 * the transaction that wrote it ({@link InstanceEventRecord.xid}); the horizon is the position
 * below which every transaction has finished, so the events below it can no longer change.
 */
export interface RunFeedStore {
  /**
   * A workflow's events at positions in [fromPosition, toPosition), in cursor order, after
   * `afterCursor`. Once `toPosition` is at most {@link RunFeedStore.horizon}, the set is final.
   */
  workflowEvents(query: {
    workspaceId: string;
    workflowId: string;
    fromPosition: bigint;
    toPosition: bigint;
    afterCursor: number;
    limit: number;
  }): Promise<InstanceEventRecord[]>;
  /** The position below which every transaction has finished (on Postgres: `pg_snapshot_xmin`). */
  horizon(): Promise<bigint>;
  /**
   * {@link RunFeedStore.horizon} and the first `limit` events of {@link RunFeedStore.workflowEvents}
   * from `fromPosition` up to it, read together in one statement (a live stream's round then costs
   * one round trip, not two).
   */
  workflowEventsToHorizon(query: {
    workspaceId: string;
    workflowId: string;
    fromPosition: bigint;
    limit: number;
  }): Promise<{ horizon: bigint; events: InstanceEventRecord[] }>;
}
