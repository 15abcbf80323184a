import { foreignKey, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { workflowSteps } from './workflow-step.table.js';

/** One edge of a workflow's draft. The primary key enforces one edge per output port. */
export const workflowEdges = pgTable(
  'workflow_edges',
  {
    workflowId: uuid('workflow_id').notNull(),
    fromStepId: text('from_step_id').notNull(),
    port: text('port').notNull(),
    toStepId: text('to_step_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workflowId, t.fromStepId, t.port] }),
    index('workflow_edges_to_idx').on(t.workflowId, t.toStepId),
    foreignKey({
      columns: [t.workflowId, t.fromStepId],
      foreignColumns: [workflowSteps.workflowId, workflowSteps.id],
    }).onDelete('cascade'),
    foreignKey({
      columns: [t.workflowId, t.toStepId],
      foreignColumns: [workflowSteps.workflowId, workflowSteps.id],
    }).onDelete('cascade'),
  ],
);

export type WorkflowEdgeRow = typeof workflowEdges.$inferSelect;
