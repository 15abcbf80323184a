import { sql } from 'drizzle-orm';
import { boolean, integer, jsonb, pgTable, primaryKey, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { Graph } from '../../domain/graph.js';
import { workflows } from './workflow.table.js';

/** An immutable published snapshot of a workflow's graph. */
export const workflowVersions = pgTable(
  'workflow_versions',
  {
    workflowId: uuid('workflow_id')
      .notNull()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    graph: jsonb('graph').$type<Graph>().notNull(),
    /** Bytes of the graph as JSON text, kept by Postgres: weighed against the response budget before the graph is read. */
    graphBytes: integer('graph_bytes')
      .notNull()
      .generatedAlwaysAs(sql`octet_length(graph::text)`),
    /** The draft revision that was published. */
    draftRevision: integer('draft_revision').notNull(),
    publishedBy: uuid('published_by'),
    /** The failure handler named by the draft when it was published. */
    failureHandlerWorkflowId: uuid('failure_handler_workflow_id'),
    /** The draft's repliesAlsoStartWorkflows when it was published: the instances of this version use it. */
    repliesAlsoStartWorkflows: boolean('replies_also_start_workflows').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.version] })],
);

export type WorkflowVersionRow = typeof workflowVersions.$inferSelect;
