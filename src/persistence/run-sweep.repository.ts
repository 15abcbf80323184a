import { and, eq, lt, sql } from 'drizzle-orm';
import type { RunSweepStore } from '../ports/run-sweep.store.port.js';
import type { StepRunRecord } from '../ports/run-records.js';
import type { Db, DbOrTx } from './database.js';
import { stepRuns } from './tables/step-run.table.js';

/** What the repair sweep reads, on drizzle. */
export class RunSweepRepository implements RunSweepStore {
  constructor(private readonly db: Db) {}

  async claimOverdue(options: { dueBefore: Date; enqueuedBefore: Date; limit: number }) {
    return claimOverdue(this.db, options);
  }

  expiredLeases(options: { limit: number }): Promise<StepRunRecord[]> {
    return this.db
      .select()
      .from(stepRuns)
      .where(and(eq(stepRuns.status, 'RUNNING'), lt(stepRuns.leaseUntil, sql`clock_timestamp()`)))
      .limit(options.limit);
  }
}

async function claimOverdue(
  db: DbOrTx,
  options: { dueBefore: Date; enqueuedBefore: Date; limit: number },
): Promise<{ id: string; dueAt: Date }[]> {
  // SKIP LOCKED lets several workers sweep at once without taking the same rows.
  const rows = await db.execute<{ id: string; due_at: Date | string }>(sql`
    update ${stepRuns} set enqueued_at = now()
    where id in (
      select id from ${stepRuns}
      where status in ('SCHEDULED', 'RETRYING')
        and due_at <= ${options.dueBefore.toISOString()}::timestamptz
        and enqueued_at <= ${options.enqueuedBefore.toISOString()}::timestamptz
      order by due_at
      limit ${options.limit}
      for update skip locked
    )
    returning id, due_at`);
  return rows.map((r) => ({ id: r.id, dueAt: new Date(r.due_at) }));
}
