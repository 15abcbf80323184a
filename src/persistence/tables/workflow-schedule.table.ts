import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { JsonObject } from '../../domain/json.js';
import { workflows } from './workflow.table.js';

/**
 * The schedule of each workflow whose newest published version starts with a schedule trigger
 * (see ScheduleStore): written in the transaction of the publish that made that version, removed
 * by archiving and by a publish of another trigger, and with the workflow. Workers claim due rows
 * (`claimed_until`) and move `next_tick_at` on with a compare-and-set once the tick's instance is
 * started.
 */
export const workflowSchedules = pgTable(
  'workflow_schedules',
  {
    workflowId: uuid('workflow_id')
      .primaryKey()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id').notNull(),
    version: integer('version').notNull(),
    triggerStepId: text('trigger_step_id').notNull(),
    triggerType: text('trigger_type').notNull(),
    config: jsonb('config').$type<JsonObject>().notNull(),
    nextTickAt: timestamp('next_tick_at', { withTimezone: true }).notNull(),
    lastTickAt: timestamp('last_tick_at', { withTimezone: true }),
    /** A worker's claim on the due tick: others leave the row alone until then. */
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    claimedBy: text('claimed_by'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('workflow_schedules_next_tick_idx').on(t.nextTickAt)],
);

export type WorkflowScheduleRow = typeof workflowSchedules.$inferSelect;
