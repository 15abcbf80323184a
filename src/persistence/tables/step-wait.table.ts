import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { WAIT_REASONS } from '../../domain/wait.js';
import type { MessageWaitMatch } from '../../ports/wait.store.port.js';
import { stepRuns } from './step-run.table.js';
import { workspaces } from './workspace.table.js';

/**
 * What a waiting step may be woken by (an event's name and key, a message's channel and sender), written by the commit that parks
 * it. A row holds only while its step run is SCHEDULED at the row's fence: the commit function
 * deletes it when the step leaves SCHEDULED, and a wake raises the fence, so a stale row never
 * wakes a step that is no longer waiting for it.
 */
export const stepWaits = pgTable(
  'step_waits',
  {
    stepRunId: uuid('step_run_id')
      .primaryKey()
      .references(() => stepRuns.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    reason: text('reason', { enum: WAIT_REASONS }).notNull(),
    /** The event name, or the message channel. */
    topic: text('topic').notNull(),
    /** The correlation key, or the contact a message must come from. */
    key: text('key').notNull(),
    /** Messages only: what else a message must satisfy, and what it may do besides. */
    match: jsonb('match').$type<MessageWaitMatch>(),
    /** The step run's fence while it waits. */
    fence: integer('fence').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('step_waits_match_idx').on(t.workspaceId, t.reason, t.topic, t.key),
    // Inbound messages are routed deployment-wide, like the triggers they may start.
    index('step_waits_message_idx')
      .on(t.topic, t.key)
      .where(sql`${t.reason} = 'message'`),
  ],
);

export type StepWaitRow = typeof stepWaits.$inferSelect;
