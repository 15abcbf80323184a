import { sql } from 'drizzle-orm';
import { bigserial, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { JsonObject } from '../../domain/json.js';
import { workflowInstances } from './workflow-instance.table.js';

/** Postgres' 64-bit transaction id, read as a decimal string. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * The ordered log of an instance's transitions: `seq` counts per instance without gaps;
 * `cursor` is a global, increasing id used to page a workflow's events.
 */
export const instanceEvents = pgTable(
  'instance_events',
  {
    instanceId: uuid('instance_id')
      .notNull()
      .references(() => workflowInstances.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    cursor: bigserial('cursor', { mode: 'number' }).notNull(),
    workspaceId: uuid('workspace_id').notNull(),
    workflowId: uuid('workflow_id').notNull(),
    /** INSTANCE or STEP. */
    entity: text('entity', { enum: ['INSTANCE', 'STEP'] }).notNull(),
    stepId: text('step_id'),
    stepRunId: uuid('step_run_id'),
    event: text('event').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    attempt: integer('attempt'),
    detail: jsonb('detail').$type<JsonObject>(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * The writing transaction. Readers of a workflow's events take only transactions older than
     * every running one (`pg_snapshot_xmin`), so a resume point never skips an event whose
     * transaction committed late.
     */
    xid: xid8('xid').notNull().default(sql`pg_current_xact_id()`),
  },
  (t) => [primaryKey({ columns: [t.instanceId, t.seq] }), index('instance_events_workflow_xid_idx').on(t.workflowId, t.xid)],
);

export type InstanceEventRow = typeof instanceEvents.$inferSelect;
