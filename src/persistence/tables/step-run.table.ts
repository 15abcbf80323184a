import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid, boolean } from 'drizzle-orm/pg-core';
import type { JsonValue } from '../../domain/json.js';
import type { StepRunError } from '../../ports/run-records.js';
import { STEP_RUN_STATUSES } from '../../domain/run-state-machine.js';
import { WAIT_REASONS, type WaitArrival } from '../../domain/wait.js';
import { workflowInstances } from './workflow-instance.table.js';

/**
 * One step of one instance. A run follows one path through an acyclic graph, so each step runs at
 * most once per instance: (instance, step) is unique, and retries reuse the row.
 */
export const stepRuns = pgTable(
  'step_runs',
  {
    id: uuid('id').primaryKey(),
    instanceId: uuid('instance_id')
      .notNull()
      .references(() => workflowInstances.id, { onDelete: 'cascade' }),
    stepId: text('step_id').notNull(),
    stepType: text('step_type').notNull(),
    status: text('status', { enum: STEP_RUN_STATUSES }).notNull(),
    /** The number of the latest attempt: attempts started so far, retryInstance included. */
    attempt: integer('attempt').notNull().default(0),
    /** Attempts started before the latest retryInstance: the retry policy counts only those after. */
    attemptsBeforeRetry: integer('attempts_before_retry').notNull().default(0),
    input: jsonb('input').$type<JsonValue>(),
    output: jsonb('output').$type<JsonValue>(),
    error: jsonb('error').$type<StepRunError>(),
    /** When a job should run it (SCHEDULED / RETRYING). */
    dueAt: timestamp('due_at', { withTimezone: true }).notNull().defaultNow(),
    /** When its job was last handed to the scheduler; the sweep re-enqueues long-overdue ones. */
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }).notNull().defaultNow(),
    /** While RUNNING: the worker holds the step until then and extends it while it works. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** True after a `wait`: the next start resumes the step instead of beginning it. */
    resumed: boolean('resumed').notNull().default(false),
    /** What its `wait` waits (or waited) for. */
    waitReason: text('wait_reason', { enum: WAIT_REASONS }),
    /** What ended its wait before the due time (a `wake`), for the attempt that resumes it. */
    arrival: jsonb('arrival').$type<WaitArrival>(),
    /** How often the worker running it vanished. */
    lostCount: integer('lost_count').notNull().default(0),
    /** How often a stopping worker handed it back unfinished. */
    handbackCount: integer('handback_count').notNull().default(0),
    /** Raised by one at every start; the running attempt's writes must name it (fencing). */
    fence: integer('fence').notNull().default(0),
    /** The worker holding (or that last held) the lease. */
    leaseOwner: text('lease_owner'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('step_runs_instance_step_idx').on(t.instanceId, t.stepId),
    index('step_runs_due_idx').on(t.dueAt).where(sql`${t.status} in ('SCHEDULED', 'RETRYING')`),
    index('step_runs_lease_idx').on(t.leaseUntil).where(sql`${t.status} = 'RUNNING'`),
  ],
);

export type StepRunRow = typeof stepRuns.$inferSelect;
