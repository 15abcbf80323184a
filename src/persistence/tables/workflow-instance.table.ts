import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { IDEMPOTENCY_SOURCES } from '../../domain/idempotency.js';
import type { JsonValue } from '../../domain/json.js';
import type { InstanceFailure } from '../../ports/run-records.js';
import { INSTANCE_STATUSES } from '../../domain/run-state-machine.js';
import { WAIT_REASONS } from '../../domain/wait.js';
import { workflows } from './workflow.table.js';
import { workspaces } from './workspace.table.js';

/** One run of a published workflow version. `eventSeq` is the seq of its newest event. */
export const workflowInstances = pgTable(
  'workflow_instances',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    workflowId: uuid('workflow_id')
      .notNull()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    status: text('status', { enum: INSTANCE_STATUSES }).notNull(),
    input: jsonb('input').$type<JsonValue>().notNull(),
    /** Bytes of the input as JSON text, kept by Postgres: weighed against the response budget before inputs are read. */
    inputBytes: integer('input_bytes')
      .notNull()
      .generatedAlwaysAs(sql`octet_length(input::text)`),
    idempotencyKey: text('idempotency_key'),
    /** Who gave the key: keys are unique per workflow and source. Set exactly when the key is. */
    idempotencySource: text('idempotency_source', { enum: IDEMPOTENCY_SOURCES }),
    eventSeq: integer('event_seq').notNull().default(0),
    currentStepId: text('current_step_id'),
    /** While WAITING, what for; the commit function clears it when the instance leaves WAITING. */
    waitReason: text('wait_reason', { enum: WAIT_REASONS }),
    error: jsonb('error').$type<InstanceFailure>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('workflow_instances_idempotency_idx')
      .on(t.workflowId, t.idempotencySource, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    check('workflow_instances_idempotency_source_check', sql`(${t.idempotencyKey} is null) = (${t.idempotencySource} is null)`),
    index('workflow_instances_workflow_status_idx').on(t.workflowId, t.status, t.createdAt, t.id),
    index('workflow_instances_workflow_created_idx').on(t.workflowId, t.createdAt, t.id),
    // Lists filtered by a trigger-input path (a provider's message id...) find their few instances
    // by containment. jsonb_path_ops: one hash per value and its path, smaller than jsonb_ops and
    // all that `@>` needs.
    index('workflow_instances_input_idx').using('gin', t.input.op('jsonb_path_ops')),
    // The sweep's look for failures whose handler was never started reads only recent failures.
    index('workflow_instances_failed_idx')
      .on(t.finishedAt)
      .where(sql`${t.status} = 'FAILED'`),
  ],
);

export type WorkflowInstanceRow = typeof workflowInstances.$inferSelect;
