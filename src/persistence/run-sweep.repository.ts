import { and, asc, eq, gte, isNotNull, lt, ne, notExists, or, isNull, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { RunSweepStore } from '../ports/run-sweep.store.port.js';
import type { InstanceRecord, StepRunRecord } from '../ports/run-records.js';
import type { Db, DbOrTx } from './database.js';
import { instanceColumns } from './run-rows.js';
import { stepRuns } from './tables/step-run.table.js';
import { workflowInstances } from './tables/workflow-instance.table.js';
import { workflowVersions } from './tables/workflow-version.table.js';
import { workflows } from './tables/workflow.table.js';

const handler = alias(workflows, 'handler');
const handlerRun = alias(workflowInstances, 'handler_run');

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

  unhandledFailures(options: { failedAfter: Date; failedBefore: Date; limit: number }): Promise<InstanceRecord[]> {
    const i = workflowInstances;
    return (
      this.db
        .select(instanceColumns)
        .from(i)
        .innerJoin(workflowVersions, and(eq(workflowVersions.workflowId, i.workflowId), eq(workflowVersions.version, i.version)))
        // A handler that is gone, archived or unpublished would be refused on every pass: leave it out.
        .innerJoin(
          handler,
          and(
            eq(handler.id, workflowVersions.failureHandlerWorkflowId),
            eq(handler.workspaceId, i.workspaceId),
            eq(handler.status, 'ACTIVE'),
            isNotNull(handler.latestVersion),
          ),
        )
        .where(
          and(
            // The range on finished_at of FAILED rows is what workflow_instances_failed_idx holds.
            eq(i.status, 'FAILED'),
            gte(i.finishedAt, options.failedAfter),
            lt(i.finishedAt, options.failedBefore),
            or(isNull(i.idempotencySource), ne(i.idempotencySource, 'failure-handler')),
            // Found by the idempotency index: (handler workflow, source, key).
            notExists(
              this.db
                .select({ one: sql`1` })
                .from(handlerRun)
                .where(
                  and(
                    eq(handlerRun.workflowId, handler.id),
                    eq(handlerRun.idempotencySource, 'failure-handler'),
                    eq(handlerRun.idempotencyKey, sql`${i.id}::text || ':' || ${i.eventSeq}::text`),
                    eq(handlerRun.workspaceId, i.workspaceId),
                  ),
                ),
            ),
          ),
        )
        .orderBy(asc(i.finishedAt), asc(i.id))
        .limit(options.limit)
    );
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
