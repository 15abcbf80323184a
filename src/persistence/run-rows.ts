import { getTableColumns } from 'drizzle-orm';
import type { IdempotencySource } from '../domain/idempotency.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import type { InstanceEventRecord, InstanceRecord } from '../ports/run-records.js';
import { workflowInstances } from './tables/workflow-instance.table.js';

/** An instance's columns as its record has them (its input's size is for listings only). */
export const { inputBytes: _inputBytes, ...instanceColumns } = getTableColumns(workflowInstances);
/** An instance's columns but its input, with the input's size. */
export const { input: _input, ...instanceHeadColumns } = getTableColumns(workflowInstances);

/** The SQLSTATE wfb_commit_run_change raises when a compare-and-set misses. */
export const CAS_MISS = 'WF409';

export function isCasMiss(err: unknown): boolean {
  // Drizzle may wrap the driver's error; the code is on the error or its cause.
  for (let e: unknown = err, depth = 0; e && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e === 'object' && (e as { code?: unknown }).code === CAS_MISS) return true;
  }
  return false;
}

/** One event of a commit, in log order; the database assigns its seq. */
export interface CommitEvent {
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
export interface InstanceEventSqlRow extends Record<string, unknown> {
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
export interface InstanceSqlRow extends Record<string, unknown> {
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
  wait_reason: InstanceRecord['waitReason'];
  error: InstanceRecord['error'];
  created_at: string | Date;
  started_at: string | Date | null;
  finished_at: string | Date | null;
  updated_at: string | Date;
}

const toDate = (value: string | Date | null): Date | null => (value === null ? null : new Date(value));

export function toInstanceRecord(r: InstanceSqlRow): InstanceRecord {
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
    waitReason: r.wait_reason,
    error: r.error,
    createdAt: new Date(r.created_at),
    startedAt: toDate(r.started_at),
    finishedAt: toDate(r.finished_at),
    updatedAt: new Date(r.updated_at),
  };
}

export function toEventRecord(r: InstanceEventSqlRow): InstanceEventRecord {
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

