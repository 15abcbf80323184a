import { boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from './workspace.table.js';

export const workflowStatuses = ['DRAFT', 'ACTIVE', 'ARCHIVED'] as const;
export type WorkflowStatus = (typeof workflowStatuses)[number];

/**
 * A workflow and the head of its draft. `draftRevision` grows by one with every edit, undo and redo;
 * `historyHead` is the seq of the newest applied history entry (entries above it can be redone).
 */
export const workflows = pgTable(
  'workflows',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    status: text('status', { enum: workflowStatuses }).notNull().default('DRAFT'),
    draftRevision: integer('draft_revision').notNull().default(0),
    historyHead: integer('history_head').notNull().default(0),
    stepCount: integer('step_count').notNull().default(0),
    /** Newest published version, null before the first publish. */
    latestVersion: integer('latest_version'),
    /**
     * The workflow started when an instance fails (the draft's setting, published with each
     * version). Not a key to the handler: deleting it leaves a name publishing reports.
     */
    failureHandlerWorkflowId: uuid('failure_handler_workflow_id'),
    /**
     * Whether a reply that ends a wait.forMessage of an instance also starts workflows its channel
     * triggers (the draft's setting, published with each version).
     */
    repliesAlsoStartWorkflows: boolean('replies_also_start_workflows').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('workflows_workspace_status_idx').on(t.workspaceId, t.status, t.createdAt, t.id)],
);

export type WorkflowRow = typeof workflows.$inferSelect;
