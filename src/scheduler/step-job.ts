import { z } from 'zod';

/** The Agenda job name under which every step run executes. */
export const STEP_JOB_NAME = 'step-run';

/**
 * A step job's whole payload: the id of the step run, never the step itself. Postgres holds the
 * rest, so a job can be delivered late, twice or after a restart without carrying stale state.
 */
export interface StepJobData {
  readonly stepRunId: string;
}

/** The key Agenda's `unique()` matches on, so enqueuing an id again updates its pending job. */
export const STEP_JOB_UNIQUE_KEY = 'data.stepRunId';

const stepJobDataSchema = z.object({ stepRunId: z.string().min(1) });

export function stepJobData(stepRunId: string): StepJobData {
  return { stepRunId };
}

/** Reads a payload that came back from the job store; `undefined` when it is not a step job's. */
export function parseStepJobData(data: unknown): StepJobData | undefined {
  const parsed = stepJobDataSchema.safeParse(data);
  return parsed.success ? { stepRunId: parsed.data.stepRunId } : undefined;
}
