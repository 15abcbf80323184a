import { and, asc, count, desc, eq, getTableName, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { JsonValue } from '../domain/json.js';
import type { InstanceStatus } from '../domain/run-state-machine.js';
import type { Page, PageRequest } from '../ports/page.js';
import { triggerInputMatchDocument, type TriggerInputMatch } from '../domain/trigger-input-match.js';
import type { InstanceFilter, RunQueryStore } from '../ports/run-query.store.port.js';
import type { InstanceEventRecord, InstanceHead, InstanceRecord, StepRunRecord } from '../ports/run-records.js';
import { cursorCodec, cursorTimestamp, cursorUuid, timestampText } from './cursor.js';
import type { Db } from './database.js';
import { instanceColumns, instanceHeadColumns } from './run-rows.js';
import { instanceEvents } from './tables/instance-event.table.js';
import { stepRuns } from './tables/step-run.table.js';
import { workflowInstances } from './tables/workflow-instance.table.js';
import { isUuid } from './workflow.repository.js';

/** Keyset cursor of the instances list: createdAt (to the microsecond) and id. */
const instanceCursor = cursorCodec('instances', z.tuple([cursorTimestamp, cursorUuid]));

/**
 * Inputs that hold the match, by containment (`@>`), which the GIN index on inputs answers. The
 * document is objects down to the value, so containment is exactly the match: an array where the
 * document has an object or a scalar does not contain it.
 */
function holds(match: TriggerInputMatch): SQL {
  return sql`${workflowInstances.input} @> ${JSON.stringify(triggerInputMatchDocument(match))}::jsonb`;
}

/** Reads of runs for the API, on drizzle. */
export class RunQueryRepository implements RunQueryStore {
  constructor(private readonly db: Db) {}

  async getInstance(workspaceId: string, id: string): Promise<InstanceRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db
      .select(instanceColumns)
      .from(workflowInstances)
      .where(and(eq(workflowInstances.id, id), eq(workflowInstances.workspaceId, workspaceId)));
    return row;
  }

  async listInstances(workspaceId: string, filter: InstanceFilter, page: PageRequest): Promise<Page<InstanceHead>> {
    if (!isUuid(filter.workflowId)) return { items: [], hasNextPage: false, totalCount: 0 };
    const scope = and(
      eq(workflowInstances.workspaceId, workspaceId),
      eq(workflowInstances.workflowId, filter.workflowId),
      filter.status ? eq(workflowInstances.status, filter.status) : undefined,
      filter.triggerInput ? holds(filter.triggerInput) : undefined,
    );
    const after = page.after === undefined ? undefined : instanceCursor.decode(page.after);
    // Newest first; (createdAt, id) is a total order, and the cursor holds createdAt to the microsecond.
    const afterCond = after
      ? sql`(${workflowInstances.createdAt}, ${workflowInstances.id}) < (${after[0]}::timestamptz, ${after[1]}::uuid)`
      : undefined;
    const listed = and(scope, afterCond);
    // A trigger-input filter's matches are found first, then paged. As one query, a generic plan
    // (which a prepared statement may switch to, not knowing that a message id is rare) walks the
    // workflow's index newest first testing every input on the way: with it forced, 184 ms for one
    // match among 150,000 instances, against 2 ms through the input index. A subquery with an OFFSET is
    // planned on its own, where that order is worth nothing; named as the table, the selection's
    // columns are its columns. A value many instances share is read whole, as totalCount is.
    const source = filter.triggerInput
      ? this.db
          .select(instanceHeadColumns)
          .from(workflowInstances)
          .where(listed)
          .offset(sql.placeholder('matchesFrom'))
          .as(getTableName(workflowInstances))
      : workflowInstances;
    const [rows, [total]] = await Promise.all([
      this.db
        // Not the inputs: those are read on their own, once weighed (readInputs).
        .select({ row: instanceHeadColumns, at: timestampText(workflowInstances.createdAt) })
        .from(source)
        .where(filter.triggerInput ? undefined : listed)
        .orderBy(desc(workflowInstances.createdAt), desc(workflowInstances.id))
        .limit(page.first + 1)
        .execute({ matchesFrom: 0 }),
      this.db.select({ n: count() }).from(workflowInstances).where(scope),
    ]);
    return {
      items: rows.slice(0, page.first).map(({ row, at }) => ({ cursor: instanceCursor.encode([at, row.id]), node: row })),
      hasNextPage: rows.length > page.first,
      totalCount: total?.n ?? 0,
    };
  }

  async readInputs(instanceIds: readonly string[]): Promise<Map<string, JsonValue>> {
    const ids = instanceIds.filter(isUuid);
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .select({ id: workflowInstances.id, input: workflowInstances.input })
      .from(workflowInstances)
      .where(inArray(workflowInstances.id, ids));
    return new Map(rows.map((r) => [r.id, r.input]));
  }

  async countByStatus(workflowId: string): Promise<Partial<Record<InstanceStatus, number>>> {
    if (!isUuid(workflowId)) return {};
    const rows = await this.db
      .select({ status: workflowInstances.status, n: count() })
      .from(workflowInstances)
      .where(eq(workflowInstances.workflowId, workflowId))
      .groupBy(workflowInstances.status);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  listStepRuns(instanceId: string): Promise<StepRunRecord[]> {
    return this.db.select().from(stepRuns).where(eq(stepRuns.instanceId, instanceId)).orderBy(asc(stepRuns.createdAt), asc(stepRuns.id));
  }

  activeStepRuns(instanceId: string): Promise<StepRunRecord[]> {
    return this.db
      .select()
      .from(stepRuns)
      .where(and(eq(stepRuns.instanceId, instanceId), inArray(stepRuns.status, ['SCHEDULED', 'RETRYING', 'RUNNING'])));
  }

  async failedStepRun(instanceId: string): Promise<StepRunRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(stepRuns)
      // Not a step that followed its error edge: the run went on after it.
      .where(
        and(
          eq(stepRuns.instanceId, instanceId),
          eq(stepRuns.status, 'FAILED'),
          sql`coalesce((${stepRuns.error}->>'handled')::boolean, false) = false`,
        ),
      )
      .orderBy(desc(stepRuns.finishedAt))
      .limit(1);
    return row;
  }

  listStepRunEvents(instanceId: string, stepRunIds?: readonly string[]): Promise<InstanceEventRecord[]> {
    const ids = stepRunIds?.filter(isUuid);
    if (ids?.length === 0) return Promise.resolve([]);
    return this.db
      .select()
      .from(instanceEvents)
      // The instance's log by its primary key; the step runs' entries filtered from it.
      .where(
        and(
          eq(instanceEvents.instanceId, instanceId),
          eq(instanceEvents.entity, 'STEP'),
          ids ? inArray(instanceEvents.stepRunId, ids) : undefined,
        ),
      )
      .orderBy(asc(instanceEvents.seq));
  }

  listEvents(instanceId: string, page: { afterSeq: number; first: number }): Promise<InstanceEventRecord[]> {
    return this.db
      .select()
      .from(instanceEvents)
      .where(and(eq(instanceEvents.instanceId, instanceId), gt(instanceEvents.seq, page.afterSeq)))
      .orderBy(asc(instanceEvents.seq))
      .limit(page.first);
  }
}
