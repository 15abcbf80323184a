import { and, eq, inArray, or, sql } from 'drizzle-orm';
import { notFound } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { StepRecord } from '../domain/run-context.js';
import type { WaitTarget } from '../domain/wait.js';
import type { RunCommandStore } from '../ports/run-command.store.port.js';
import type { MessageWaitMatch } from '../ports/wait.store.port.js';
import type { CommitResult, InstanceEventRecord, NewInstance, RunChange } from '../ports/run-records.js';
import type { Sql } from 'postgres';
import type { Db, DbOrTx } from './database.js';
import { CAS_MISS, instanceColumns, isCasMiss, toEventRecord, toInstanceRecord, type CommitEvent, type InstanceEventSqlRow, type InstanceSqlRow } from './run-rows.js';
import { CommitBatcher } from './commit-batcher.js';
import { StoreFailure } from './store-failure.js';
import { stepRuns } from './tables/step-run.table.js';
import { workflowInstances } from './tables/workflow-instance.table.js';
import { isUuid } from './workflow.repository.js';

/**
 * The instance, its first step run and their two events in one statement, or nothing when the
 * idempotency key is taken (every insert depends on the instance's). Plain text with parameters
 * rather than a query builder: it runs for every start, and building it cost more than running it.
 */
const CREATE_INSTANCE_SQL = `
  with i as (
    insert into workflow_instances
      (id, workspace_id, workflow_id, version, status, input, idempotency_key, idempotency_source, event_seq, current_step_id, created_at, updated_at)
    values ($1::uuid, $2::uuid, $3::uuid, $4::integer, 'PENDING', $5::jsonb, $6::text, $7::text, 2, $8::text, $9::timestamptz, $9::timestamptz)
    on conflict do nothing
    returning *
  ), s as (
    insert into step_runs (id, instance_id, step_id, step_type, status, due_at, enqueued_at)
    select $10::uuid, i.id, $8::text, $11::text, 'SCHEDULED', $9::timestamptz, $9::timestamptz from i
  ), e as (
    insert into instance_events
      (instance_id, seq, workspace_id, workflow_id, entity, step_id, step_run_id, event, from_status, to_status, attempt, at)
    select i.id, v.seq, i.workspace_id, i.workflow_id, v.entity, v.step_id, v.step_run_id, v.event, null, v.to_status, v.attempt, clock_timestamp()
    from i, (values
      (1, 'INSTANCE', null::text, null::uuid, 'create', 'PENDING', null::integer),
      (2, 'STEP', $8::text, $10::uuid, 'schedule', 'SCHEDULED', 0)
    ) as v (seq, entity, step_id, step_run_id, event, to_status, attempt)
    returning *
  )
  select i.*, (select json_agg(e order by e.seq) from e) as events from i`;

/**
 * Many instances, each with its first step run and their two events, in one statement: those of
 * workflows still active, and whose idempotency key is free. Rows come back for the created ones.
 */
const CREATE_INSTANCES_SQL = `
  with v as (
    select * from jsonb_to_recordset($1::jsonb) as x
      (ord integer, id uuid, workspace_id uuid, workflow_id uuid, version integer, input jsonb,
       idempotency_key text, idempotency_source text, step_id text, step_run_id uuid, step_type text)
  ), i as (
    insert into workflow_instances
      (id, workspace_id, workflow_id, version, status, input, idempotency_key, idempotency_source, event_seq, current_step_id, created_at, updated_at)
    select v.id, v.workspace_id, v.workflow_id, v.version, 'PENDING', v.input, v.idempotency_key, v.idempotency_source, 2, v.step_id, $2::timestamptz, $2::timestamptz
    from v join workflows w on w.id = v.workflow_id and w.workspace_id = v.workspace_id and w.status = 'ACTIVE'
    order by v.ord
    on conflict do nothing
    returning *
  ), s as (
    insert into step_runs (id, instance_id, step_id, step_type, status, due_at, enqueued_at)
    select v.step_run_id, i.id, v.step_id, v.step_type, 'SCHEDULED', $2::timestamptz, $2::timestamptz from i join v on v.id = i.id
  ), e as (
    insert into instance_events
      (instance_id, seq, workspace_id, workflow_id, entity, step_id, step_run_id, event, from_status, to_status, attempt, at)
    select i.id, k.seq, i.workspace_id, i.workflow_id, k.entity, case when k.seq = 2 then v.step_id end,
           case when k.seq = 2 then v.step_run_id end, k.event, null, k.to_status, k.attempt, clock_timestamp()
    from i join v on v.id = i.id, (values
      (1, 'INSTANCE', 'create', 'PENDING', null::integer),
      (2, 'STEP', 'schedule', 'SCHEDULED', 0)
    ) as k (seq, entity, event, to_status, attempt)
    returning *
  )
  select i.*, (select json_agg(e order by e.seq) from e where e.instance_id = i.id) as events from i`;

/** A change on its way to a batch: its instance (batches lock in instance order), its events, and its JSON. */
interface PendingCommit {
  readonly instanceId: string;
  readonly events: readonly CommitEvent[];
  readonly text: string;
}

/** One row of wfb_commit_run_changes: an event the database wrote, or a change's miss or refusal. */
interface BatchRow {
  readonly i: number;
  readonly ev_seq: number | null;
  readonly ev_cursor: string | number | null;
  readonly ev_at: Date | null;
  readonly ev_xid: string | null;
  readonly ws: string | null;
  readonly wf: string | null;
  readonly err_code: string | null;
  readonly err_message: string | null;
}

/** The events of a committed change: its own, in log order, with what the database assigned them. */
function eventRecords(change: PendingCommit, rows: readonly BatchRow[]): InstanceEventRecord[] {
  const sorted = [...rows].sort((a, b) => (a.ev_seq ?? 0) - (b.ev_seq ?? 0));
  return sorted.map((row, j) => {
    const e = change.events[j]!;
    return {
      instanceId: change.instanceId,
      seq: row.ev_seq!,
      cursor: Number(row.ev_cursor),
      workspaceId: row.ws!,
      workflowId: row.wf!,
      entity: e.entity,
      stepId: e.stepId ?? null,
      stepRunId: e.stepRunId ?? null,
      event: e.event,
      fromStatus: e.from,
      toStatus: e.to,
      attempt: e.attempt ?? null,
      detail: e.detail,
      at: row.ev_at!,
      xid: row.ev_xid!,
    };
  });
}

/** The engine's writes of runs (and the reads it decides them by), on drizzle. */
export class RunCommandRepository implements RunCommandStore {
  /** Built once: every step execution from a job starts with it. */
  private readonly loadQuery;
  private readonly batcher: CommitBatcher<PendingCommit, CommitResult>;

  constructor(
    private readonly db: Db,
    /** The same database's client, for the commit function's one statement without a query builder. */
    private readonly client: Sql,
  ) {
    this.batcher = new CommitBatcher<PendingCommit, CommitResult>({
      run: async (changes) =>
        (await this.commitMany(changes)).map((r) => (r instanceof StoreFailure ? { error: r } : { value: r })),
      maxInFlight: 2,
      maxBatch: 100,
    });
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
    const rows = await this.client
      .unsafe<(InstanceSqlRow & { events: InstanceEventSqlRow[] })[]>(CREATE_INSTANCE_SQL, [
        input.id,
        input.workspaceId,
        input.workflowId,
        input.version,
        JSON.stringify(input.input),
        idempotency?.key ?? null,
        idempotency?.source ?? null,
        stepId,
        now,
        stepRunId,
        stepType,
      ])
      .catch((err: unknown) => {
        // The workflow was deleted after the caller read it (its deletion held the row until it
        // committed): as if it had been gone already.
        if (isMissingWorkflow(err)) throw notFound('Workflow', input.workflowId);
        throw err;
      });
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

  async createInstances(inputs: readonly NewInstance[]) {
    if (inputs.length === 0) return [];
    const now = new Date().toISOString();
    const rows = await this.client.unsafe<(InstanceSqlRow & { events: InstanceEventSqlRow[] })[]>(CREATE_INSTANCES_SQL, [
      JSON.stringify(
        inputs.map((input, ord) => ({
          ord,
          id: input.id,
          workspace_id: input.workspaceId,
          workflow_id: input.workflowId,
          version: input.version,
          input: input.input,
          idempotency_key: input.idempotency?.key ?? null,
          idempotency_source: input.idempotency?.source ?? null,
          step_id: input.firstStep.stepId,
          step_run_id: input.firstStep.stepRunId,
          step_type: input.firstStep.stepType,
        })),
      ),
      now,
    ]);
    const created = new Map(rows.map((row) => [row.id, row]));
    const missed = inputs.filter((input) => !created.has(input.id) && input.idempotency);
    // What holds the keys of those not created; a workflow no longer active holds none.
    const existing = missed.length === 0 ? [] : await this.db
      .select(instanceColumns)
      .from(workflowInstances)
      .where(
        or(
          ...missed.map((input) =>
            and(
              eq(workflowInstances.workflowId, input.workflowId),
              eq(workflowInstances.idempotencySource, input.idempotency!.source),
              eq(workflowInstances.idempotencyKey, input.idempotency!.key),
            ),
          ),
        ),
      );
    const byKey = new Map(existing.map((r) => [`${r.workflowId}\u0000${r.idempotencySource ?? ''}\u0000${r.idempotencyKey ?? ''}`, r]));
    return inputs.map((input) => {
      const row = created.get(input.id);
      if (row) return { instance: toInstanceRecord(row), created: true, events: row.events.map(toEventRecord) };
      const held = input.idempotency && byKey.get(`${input.workflowId}\u0000${input.idempotency.source}\u0000${input.idempotency.key}`);
      return held ? { instance: held, created: false, events: [] } : undefined;
    });
  }

  async loadForExecution(stepRunId: string) {
    if (!isUuid(stepRunId)) return undefined;
    const [row] = await this.loadQuery.execute({ stepRunId });
    return row;
  }

  commit(change: RunChange): Promise<CommitResult> {
    const payload = commitPayload(change, new Date());
    return this.batcher.submit({ instanceId: change.instanceId, events: payload.events, text: JSON.stringify(payload) });
  }

  /** One change: its function, one statement (see drizzle/0009_fenced_run_commit.sql, 0012 and 0015_waits.sql). */
  private async commitOne(change: PendingCommit): Promise<CommitResult> {
    try {
      const rows = await this.client.unsafe<InstanceEventSqlRow[]>('select * from wfb_commit_run_change($1::jsonb)', [change.text]);
      return { ok: true, events: rows.map(toEventRecord).sort((a, b) => a.seq - b.seq) };
    } catch (err) {
      if (isCasMiss(err)) return { ok: false };
      throw new StoreFailure(err);
    }
  }

  /**
   * Several changes in one statement and one transaction, each in a subtransaction of its own
   * (a miss or a refused change leaves the others be), in instance order so that concurrent
   * batches lock instance rows in the same order. Only what the database assigned comes back
   * for each event (seq, cursor, time, transaction); the rest is the change's own.
   */
  private async commitMany(changes: readonly PendingCommit[]): Promise<(CommitResult | StoreFailure)[]> {
    if (changes.length === 1) {
      return [await this.commitOne(changes[0]!).catch((err: unknown) => (err instanceof StoreFailure ? err : new StoreFailure(err)))];
    }
    const order = changes
      .map((change, index) => ({ change, index }))
      .sort((a, b) => (a.change.instanceId < b.change.instanceId ? -1 : a.change.instanceId > b.change.instanceId ? 1 : a.index - b.index));
    let rows: BatchRow[];
    try {
      rows = await this.client.unsafe<BatchRow[]>(
        'select i, ev_seq, ev_cursor, ev_at, ev_xid, ws, wf, err_code, err_message from wfb_commit_run_changes($1::jsonb)',
        [JSON.stringify(order.map((o) => o.change.text))],
      );
    } catch (err) {
      const failure = new StoreFailure(err);
      return changes.map(() => failure);
    }
    const written = changes.map((): BatchRow[] => []);
    const results: (CommitResult | StoreFailure | undefined)[] = changes.map(() => undefined);
    for (const row of rows) {
      const index = order[row.i]!.index;
      if (row.err_code === CAS_MISS) results[index] = { ok: false };
      else if (row.err_code !== null) results[index] = new StoreFailure(Object.assign(new Error(row.err_message ?? ''), { code: row.err_code }));
      else written[index]!.push(row);
    }
    return changes.map((change, index) => results[index] ?? { ok: true, events: eventRecords(change, written[index]!) });
  }

  async extendLease(lease: { stepRunId: string; fence: number; leaseMs: number }): Promise<boolean> {
    const rows = await this.db
      .update(stepRuns)
      .set({ leaseUntil: sql`clock_timestamp() + ${lease.leaseMs}::integer * interval '1 millisecond'` })
      .where(and(eq(stepRuns.id, lease.stepRunId), eq(stepRuns.status, 'RUNNING'), eq(stepRuns.fence, lease.fence)))
      .returning({ id: stepRuns.id });
    return rows.length > 0;
  }

  async outputsOf(instanceId: string, stepIds: readonly string[]): Promise<Record<string, StepRecord>> {
    if (stepIds.length === 0) return {};
    const rows = await this.db
      .select({ stepId: stepRuns.stepId, status: stepRuns.status, output: stepRuns.output })
      .from(stepRuns)
      .where(
        and(
          eq(stepRuns.instanceId, instanceId),
          inArray(stepRuns.stepId, [...stepIds]),
          or(eq(stepRuns.status, 'SUCCEEDED'), and(eq(stepRuns.status, 'FAILED'), sql`(${stepRuns.error}->>'handled')::boolean`)),
        ),
      );
    return Object.fromEntries(
      rows.map((r) => {
        const output: JsonValue = r.output ?? null;
        return [r.stepId, r.status === 'FAILED' ? { output, error: output } : { output }];
      }),
    );
  }
}

/** Postgres refused an instance for want of its workflow (a foreign-key violation on workflow_id). */
function isMissingWorkflow(err: unknown): boolean {
  const e = err as { code?: unknown; constraint_name?: unknown } | null;
  return e?.code === '23503' && e.constraint_name === 'workflow_instances_workflow_id_workflows_id_fk';
}

/** A wait target as step_waits holds it: topic and key to find it by, the rest of a message's match. */
function waitRow(target: WaitTarget): { reason: WaitTarget['reason']; name: string; key: string; match: MessageWaitMatch | null } {
  if (target.reason === 'event') return { reason: target.reason, name: target.name, key: target.key, match: null };
  const { stepId, when, alsoStartsWorkflows } = target;
  return { reason: target.reason, name: target.channel, key: target.contact, match: { stepId, alsoStartsWorkflows, ...(when ? { when } : {}) } };
}

/**
 * Commits one change inside a transaction of the caller's (a wait store's delivery): a miss of its
 * compare-and-set rolls back only the change (wfb_commit_run_changes runs it in a subtransaction)
 * and leaves the caller's transaction usable. Refused changes throw a StoreFailure.
 */
export async function commitWithin(tx: DbOrTx, change: RunChange, now: Date): Promise<CommitResult> {
  const payload = commitPayload(change, now);
  const pending: PendingCommit = { instanceId: change.instanceId, events: payload.events, text: JSON.stringify(payload) };
  const rows = (await tx.execute(
    sql`select i, ev_seq, ev_cursor, ev_at, ev_xid, ws, wf, err_code, err_message from wfb_commit_run_changes(${JSON.stringify([pending.text])}::jsonb)`,
  )) as unknown as BatchRow[];
  const refused = rows.find((r) => r.err_code !== null);
  if (refused?.err_code === CAS_MISS) return { ok: false };
  if (refused) throw new StoreFailure(Object.assign(new Error(refused.err_message ?? ''), { code: refused.err_code }));
  // Raw rows: the driver leaves timestamps as text.
  return { ok: true, events: eventRecords(pending, rows.map((r) => ({ ...r, ev_at: r.ev_at === null ? null : new Date(r.ev_at) }))) };
}

/**
 * The JSON argument of wfb_commit_run_change: the change's writes, and its events in log order.
 * The log reads as a story: an instance starts before its step does, a step finishes before its
 * instance completes, fails or is cancelled, and a step created running is scheduled, then started.
 */
export function commitPayload(change: RunChange, now: Date) {
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
    const scheduled = r.status === 'SKIPPED' ? 'SKIPPED' : 'SCHEDULED';
    events.push({
      entity: 'STEP',
      stepId: r.stepId,
      stepRunId: r.id,
      event: r.status === 'SKIPPED' ? 'skip' : 'schedule',
      from: null,
      to: scheduled,
      attempt: 0,
      detail: r.detail ?? null,
    });
    if (r.status === 'RUNNING') {
      events.push({
        entity: 'STEP',
        stepId: r.stepId,
        stepRunId: r.id,
        event: 'start',
        from: 'SCHEDULED',
        to: 'RUNNING',
        attempt: 1,
        detail: r.startDetail ?? null,
      });
    }
  }
  if (change.instance && !instanceFirst) events.push(instanceEvent()!);
  return {
    instanceId: change.instanceId,
    now,
    from: change.instance?.from ?? null,
    to: change.instance?.to ?? null,
    expect: change.instanceIs ?? null,
    instancePatch: { ...change.instancePatch, ...change.instance?.patch },
    steps: stepChanges.map((s) => ({
      id: s.stepRunId,
      from: s.from,
      to: s.to,
      fence: s.fence,
      claim: s.claim,
      leaseExpired: s.leaseExpired,
      raiseFence: s.raiseFence,
      patch: s.patch ?? {},
    })),
    newRuns: newRuns.map((r) => ({
      id: r.id,
      stepId: r.stepId,
      stepType: r.stepType,
      status: r.status,
      dueAt: r.dueAt,
      ...(r.status === 'RUNNING' ? { claim: r.claim, input: r.input } : {}),
    })),
    ...(change.wait ? { wait: { ...change.wait, target: waitRow(change.wait.target) } } : {}),
    events,
  };
}

export type { InstanceEventRecord };
