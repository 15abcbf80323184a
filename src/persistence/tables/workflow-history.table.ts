import { integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { EditOp } from '../../domain/edit-op.js';
import { workflows } from './workflow.table.js';

/**
 * One undoable change of a draft: the primitive ops that made it and their inverse.
 * Entries with `seq` above the workflow's `historyHead` are undone and can be redone.
 */
export const workflowHistory = pgTable(
  'workflow_history',
  {
    workflowId: uuid('workflow_id')
      .notNull()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    label: text('label').notNull(),
    forward: jsonb('forward').$type<EditOp[]>().notNull(),
    inverse: jsonb('inverse').$type<EditOp[]>().notNull(),
    /** The API key that made the change. */
    actorKeyId: uuid('actor_key_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.seq] })],
);

export type WorkflowHistoryRow = typeof workflowHistory.$inferSelect;
