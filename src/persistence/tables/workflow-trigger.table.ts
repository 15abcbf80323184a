import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { JsonObject } from '../../domain/json.js';
import { workflows } from './workflow.table.js';

/**
 * The trigger step of each workflow's newest published version, so that inbound messages find the
 * workflows to start with an index lookup instead of reading every published graph. Kept lazily
 * by the inbound endpoints (a row whose `version` differs from `workflows.latest_version` is stale
 * and rewritten); readers join on `workflows` and use only rows that match its latest version.
 */
export const workflowTriggers = pgTable(
  'workflow_triggers',
  {
    workflowId: uuid('workflow_id')
      .primaryKey()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id').notNull(),
    /** The published version this row was read from. */
    version: integer('version').notNull(),
    /** Null when the version has no trigger step. */
    triggerType: text('trigger_type'),
    /** `config.channel` of the trigger, when it has one (incoming-message triggers). */
    channel: text('channel'),
    config: jsonb('config').$type<JsonObject>(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('workflow_triggers_type_channel_idx').on(t.triggerType, t.channel)],
);

export type WorkflowTriggerRow = typeof workflowTriggers.$inferSelect;
