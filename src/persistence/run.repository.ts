import { and, asc, count, desc, eq, getTableColumns, gt, inArray, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { IdempotencySource } from '../domain/idempotency.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import type { InstanceStatus } from '../domain/run-state-machine.js';
import type { Page, PageRequest } from '../ports/page.js';
import type {
  CommitResult,
  InstanceEventRecord,
  InstanceHead,
  InstanceRecord,
  NewInstance,
  RunChange,
  RunStore,
  StepRunRecord,
} from '../ports/run.store.port.js';
import { cursorCodec, cursorTimestamp, cursorUuid, timestampText } from './cursor.js';
import type { Db, DbOrTx } from './database.js';
import { instanceEvents } from './tables/instance-event.table.js';
import { stepRuns } from './tables/step-run.table.js';
import { workflowInstances } from './tables/workflow-instance.table.js';
import { isUuid } from './workflow.repository.js';

/** The SQLSTATE wfb_commit_run_change raises when a compare-and-set misses. */
const CAS_MISS = 'WF409';

/** An instance's columns as its record has them (its input's size is for listings only). */
const { inputBytes: _inputBytes, ...instanceColumns } = getTableColumns(workflowInstances);
/** An instance's columns but its input, with the input's size. */
const { input: _input, ...instanceHeadColumns } = getTableColumns(workflowInstances);

/** Keyset cursor of the instances list: createdAt (to the microsecond) and id. */
const instanceCursor = cursorCodec('instances', z.tuple([cursorTimestamp, cursorUuid]));

function isCasMiss(err: unknown): boolean {
  // Drizzle may wrap the driver's error; the code is on the error or its cause.
  for (let e: unknown = err, depth = 0; e && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e === 'object' && (e as { code?: unknown }).code === CAS_MISS) return true;
  }
  return false;
}

/** One event of a commit, in log order; the database assigns its seq. */
interface CommitEvent {
  readonly entity: 'INSTANCE' | 'STEP';
  readonly stepId?: string;
  readonly stepRunId?: string;
  readonly event: string;
  readonly from: string | null;
  readonly to: string;
  readonly attempt?: number;
  readonly detail: JsonObject | null;
}

/** An instance_events row as the driver returns it from raw SQL. */
interface InstanceEventSqlRow extends Record<string, unknown> {
  instance_id: string;
  seq: number;
  cursor: string | number;
  workspace_id: string;
  workflow_id: string;
  entity: 'INSTANCE' | 'STEP';
  step_id: string | null;
  step_run_id: string | null;
  event: string;
  from_status: string | null;
  to_status: string;
  attempt: number | null;
  detail: JsonObject | null;
  at: string | Date;
  xid: string | number;
}

/** A workflow_instances row as the driver returns it from raw SQL. */
interface InstanceSqlRow extends Record<string, unknown> {
  id: string;
  workspace_id: string;
  workflow_id: string;
  version: number;
  status: InstanceRecord['status'];
  input: JsonValue;
  idempotency_key: string | null;
  idempotency_source: IdempotencySource | null;
  event_seq: number;
  current_step_id: string | null;
  error: InstanceRecord['error'];
  created_at: string | Date;
  started_at: string | Date | null;
  finished_at: string | Date | null;
  updated_at: string | Date;
}

const toDate = (value: string | Date | null): Date | null => (value === null ? null : new Date(value));

function toInstanceRecord(r: InstanceSqlRow): InstanceRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    workflowId: r.workflow_id,
    version: r.version,
    status: r.status,
    input: r.input,
    idempotencyKey: r.idempotency_key,
    idempotencySource: r.idempotency_source,
    eventSeq: r.event_seq,
    currentStepId: r.current_step_id,
    error: r.error,
    createdAt: new Date(r.created_at),
    startedAt: toDate(r.started_at),
    finishedAt: toDate(r.finished_at),
    updatedAt: new Date(r.updated_at),
  };
}

function toEventRecord(r: InstanceEventSqlRow): InstanceEventRecord {
  return {
    instanceId: r.instance_id,
    seq: r.seq,
    cursor: Number(r.cursor),
    workspaceId: r.workspace_id,
    workflowId: r.workflow_id,
    entity: r.entity,
    stepId: r.step_id,
    stepRunId: r.step_run_id,
    event: r.event,
    fromStatus: r.from_status,
    toStatus: r.to_status,
    attempt: r.attempt,
    detail: r.detail,
    at: new Date(r.at),
    xid: String(r.xid),
  };
}

/** Drizzle implementation of the run store. */
export class RunRepository implements RunStore {
  /** Built once: every step execution starts with it. */
  private readonly loadQuery;

  constructor(private readonly db: Db) {
    this.loadQuery = db
      .select({ stepRun: stepRuns, instance: instanceColumns })
      .from(stepRuns)
      .innerJoin(workflowInstances, eq(workflowInstances.id, stepRuns.instanceId))
      .where(eq(stepRuns.id, sql.placeholder('stepRunId')))
      .prepare('run_load_for_execution');
  }

  async createInstance(input: NewInstance) {
    const now = new Date().toISOString();
    const { stepRunId, stepId, stepType } = input.firstStep;
    const { idempotency } = input;
    // One statement: the instance, its first step run and their two events, or nothing when the
    // idempotency key is taken (every insert depends on the instance's).
    const rows = await this.db.execute<InstanceSqlRow & { events: InstanceEventSqlRow[] }>(sql`
      with i as (
        insert into workflow_instances
          (id, workspace_id, workflow_id, version, status, input, idempotency_key, idempotency_source, event_seq, current_step_id, created_at, updated_at)
        values (${input.id}, ${input.workspaceId}, ${input.workflowId}, ${input.version}, 'PENDING',
                ${JSON.stringify(input.input)}::jsonb, ${idempotency?.key ?? null}, ${idempotency?.source ?? null}, 2, ${stepId}, ${now}::timestamptz, ${now}::timestamptz)
        on conflict do nothing
        returning *
      ), s as (
        insert into step_runs (id, instance_id, step_id, step_type, status, due_at, enqueued_at)
        select ${stepRunId}, i.id, ${stepId}, ${stepType}, 'SCHEDULED', ${now}::timestamptz, ${now}::timestamptz from i
      ), e as (
        insert into instance_events
          (instance_id, seq, workspace_id, workflow_id, entity, step_id, step_run_id, event, from_status, to_status, attempt, at)
        select i.id, v.seq, i.workspace_id, i.workflow_id, v.entity, v.step_id, v.step_run_id, v.event, null, v.to_status, v.attempt, clock_timestamp()
        from i, (values
          (1, 'INSTANCE', null::text, null::uuid, 'create', 'PENDING', null::integer),
          (2, 'STEP', ${stepId}::text, ${stepRunId}::uuid, 'schedule', 'SCHEDULED', 0)
        ) as v (seq, entity, step_id, step_run_id, event, to_status, attempt)
        returning *
      )
      select i.*, (select json_agg(e order by e.seq) from e) as events from i`);
    const created = rows[0];
    if (created) {
      return { instance: toInstanceRecord(created), created: true, events: created.events.map(toEventRecord) };
    }
    if (!idempotency) throw new Error('instance insert without an idempotency key conflicted');
    const [existing] = await this.db
      .select(instanceColumns)
      .from(workflowInstances)
      .where(
        and(
          eq(workflowInstances.workflowId, input.workflowId),
          eq(workflowInstances.idempotencySource, idempotency.source),
          eq(workflowInstances.idempotencyKey, idempotency.key),
        ),
      );
    if (!existing) throw new Error('instance insert conflicted but no instance holds the idempotency key');
    return { instance: existing, created: false, events: [] };
  }

  async loadForExecution(stepRunId: string) {
    if (!isUuid(stepRunId)) return undefined;
    const [row] = await this.loadQuery.execute({ stepRunId });
    return row;
  }

  async commit(change: RunChange): Promise<CommitResult> {
    const stepChanges = change.steps ?? [];
    const newRuns = change.newStepRuns ?? [];
    const events: CommitEvent[] = [];
    const instanceEvent = (): CommitEvent | undefined =>
      change.instance && {
        entity: 'INSTANCE',
        event: change.instance.event,
        from: change.instance.from,
        to: change.instance.to,
        detail: change.instance.detail ?? null,
      };
    // The log reads as a story: an instance starts before its step does, and a step finishes
    // before its instance completes, fails or is cancelled.
    const instanceFirst = change.instance?.to === 'RUNNING';
    if (instanceFirst) events.push(instanceEvent()!);
    for (const s of stepChanges) {
      events.push({
        entity: 'STEP',
        stepId: s.stepId,
        stepRunId: s.stepRunId,
        event: s.event,
        from: s.from,
        to: s.to,
        attempt: s.attempt,
        detail: s.detail ?? null,
      });
    }
    for (const r of newRuns) {
      events.push({
        entity: 'STEP',
        stepId: r.stepId,
        stepRunId: r.id,
        event: r.status === 'SKIPPED' ? 'skip' : 'schedule',
        from: null,
        to: r.status,
        attempt: 0,
        detail: r.detail ?? null,
      });
    }
    if (change.instance && !instanceFirst) events.push(instanceEvent()!);

    // One statement (see drizzle/0003_run_commit_function.sql): one round trip per transition.
    const payload = JSON.stringify({
      instanceId: change.instanceId,
      now: new Date(),
      from: change.instance?.from ?? null,
      to: change.instance?.to ?? null,
      instancePatch: { ...change.instancePatch, ...change.instance?.patch },
      steps: stepChanges.map((s) => ({ id: s.stepRunId, from: s.from, to: s.to, patch: s.patch ?? {} })),
      newRuns: newRuns.map((r) => ({ id: r.id, stepId: r.stepId, stepType: r.stepType, status: r.status, dueAt: r.dueAt })),
      events,
    });
    try {
      const rows = await this.db.execute<InstanceEventSqlRow>(sql`select * from wfb_commit_run_change(${payload}::jsonb)`);
      return { ok: true, events: rows.map(toEventRecord).sort((a, b) => a.seq - b.seq) };
    } catch (err) {
      if (isCasMiss(err)) return { ok: false };
      throw err;
    }
  }

  async extendLease(stepRunId: string, attempt: number, until: Date): Promise<boolean> {
    const rows = await this.db
      .update(stepRuns)
      .set({ leaseUntil: until })
      .where(and(eq(stepRuns.id, stepRunId), eq(stepRuns.status, 'RUNNING'), eq(stepRuns.attempt, attempt)))
      .returning({ id: stepRuns.id });
    return rows.length > 0;
  }

  async outputsOf(instanceId: string, stepIds: readonly string[]): Promise<Record<string, JsonValue>> {
    if (stepIds.length === 0) return {};
    const rows = await this.db
      .select({ stepId: stepRuns.stepId, output: stepRuns.output })
      .from(stepRuns)
      .where(
        and(eq(stepRuns.instanceId, instanceId), inArray(stepRuns.stepId, [...stepIds]), eq(stepRuns.status, 'SUCCEEDED')),
      );
    return Object.fromEntries(rows.map((r) => [r.stepId, r.output ?? null]));
  }

  async getInstance(workspaceId: string, id: string): Promise<InstanceRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db
      .select(instanceColumns)
      .from(workflowInstances)
      .where(and(eq(workflowInstances.id, id), eq(workflowInstances.workspaceId, workspaceId)));
    return row;
  }

  async listInstances(
    workspaceId: string,
    filter: { workflowId: string; status?: InstanceStatus },
    page: PageRequest,
  ): Promise<Page<InstanceHead>> {
    if (!isUuid(filter.workflowId)) return { items: [], hasNextPage: false, totalCount: 0 };
    const scope = and(
      eq(workflowInstances.workspaceId, workspaceId),
      eq(workflowInstances.workflowId, filter.workflowId),
      filter.status ? eq(workflowInstances.status, filter.status) : undefined,
    );
    const after = page.after === undefined ? undefined : instanceCursor.decode(page.after);
    // Newest first; (createdAt, id) is a total order, and the cursor holds createdAt to the microsecond.
    const afterCond = after
      ? sql`(${workflowInstances.createdAt}, ${workflowInstances.id}) < (${after[0]}::timestamptz, ${after[1]}::uuid)`
      : undefined;
    const [rows, [total]] = await Promise.all([
      this.db
        // Not the inputs: those are read on their own, once weighed (readInputs).
        .select({ row: instanceHeadColumns, at: timestampText(workflowInstances.createdAt) })
        .from(workflowInstances)
        .where(and(scope, afterCond))
        .orderBy(desc(workflowInstances.createdAt), desc(workflowInstances.id))
        .limit(page.first + 1),
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
      .where(and(eq(stepRuns.instanceId, instanceId), eq(stepRuns.status, 'FAILED')))
      .orderBy(desc(stepRuns.finishedAt))
      .limit(1);
    return row;
  }

  listEvents(instanceId: string, page: { afterSeq: number; first: number }): Promise<InstanceEventRecord[]> {
    return this.db
      .select()
      .from(instanceEvents)
      .where(and(eq(instanceEvents.instanceId, instanceId), gt(instanceEvents.seq, page.afterSeq)))
      .orderBy(asc(instanceEvents.seq))
      .limit(page.first);
  }

  workflowEvents(query: {
    workspaceId: string;
    workflowId: string;
    fromXid: bigint;
    toXid: bigint;
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
          sql`${instanceEvents.xid} >= ${query.fromXid.toString()}::xid8`,
          sql`${instanceEvents.xid} < ${query.toXid.toString()}::xid8`,
          gt(instanceEvents.cursor, query.afterCursor),
        ),
      )
      .orderBy(asc(instanceEvents.cursor))
      .limit(query.limit);
  }

  async workflowEventsToHorizon(query: { workspaceId: string; workflowId: string; fromXid: bigint; limit: number }) {
    // One row even when no event qualifies (its event columns null), so the horizon always comes back.
    const rows = await this.db.execute<{ horizon: string } & Partial<InstanceEventSqlRow>>(sql`
      with h as (select pg_snapshot_xmin(pg_current_snapshot()) as x)
      select h.x::text as horizon, e.* from h
      left join lateral (
        select * from ${instanceEvents}
        where workflow_id = ${isUuid(query.workflowId) ? query.workflowId : null}::uuid
          and workspace_id = ${query.workspaceId}
          and xid >= ${query.fromXid.toString()}::xid8 and xid < h.x
        order by cursor
        limit ${query.limit}
      ) e on true`);
    return {
      horizon: BigInt(rows[0]!.horizon),
      events: rows.filter((r) => r.instance_id != null).map((r) => toEventRecord(r as InstanceEventSqlRow)),
    };
  }

  async visibleXidHorizon(): Promise<bigint> {
    const rows = await this.db.execute<{ xmin: string }>(sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`);
    return BigInt(rows[0]!.xmin);
  }

  async claimOverdue(options: { dueBefore: Date; enqueuedBefore: Date; limit: number }) {
    return claimOverdue(this.db, options);
  }

  expiredLeases(options: { now: Date; limit: number }): Promise<StepRunRecord[]> {
    return this.db
      .select()
      .from(stepRuns)
      .where(and(eq(stepRuns.status, 'RUNNING'), lte(stepRuns.leaseUntil, options.now)))
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
