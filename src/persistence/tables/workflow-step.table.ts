import { sql } from 'drizzle-orm';
import { bigserial, doublePrecision, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import type { JsonObject } from '../../domain/json.js';
import { workflows } from './workflow.table.js';

/** One step of a workflow's draft; one row per step so an edit touches only what it changes. */
export const workflowSteps = pgTable(
  'workflow_steps',
  {
    workflowId: uuid('workflow_id')
      .notNull()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /** Insertion order, the stable order of the steps connection. */
    ordinal: bigserial('ordinal', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    name: text('name').notNull(),
    config: jsonb('config').$type<JsonObject>().notNull(),
    /**
     * Bytes of the config as JSON text, kept by Postgres: a page's configs are weighed against the
     * response budget before they are read.
     */
    configBytes: integer('config_bytes')
      .notNull()
      .generatedAlwaysAs(sql`octet_length(config::text)`),
    positionX: doublePrecision('position_x').notNull().default(0),
    positionY: doublePrecision('position_y').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.id] })],
);

export type WorkflowStepRow = typeof workflowSteps.$inferSelect;
