import type { JsonValue } from './json.js';

/**
 * The record of one finished step, as conditions and templates see it. A step that failed and
 * followed its `error` edge has its error as its output, and again as `error`
 * (`steps.<id>.error.message`); `error` is absent for a step that succeeded.
 */
export interface StepRecord {
  readonly output: JsonValue;
  readonly error?: JsonValue;
}

/** Identity of the running workflow instance. `startedAt` is an ISO-8601 timestamp. */
export interface RunInstanceInfo {
  readonly id: string;
  readonly workflowId: string;
  readonly version: number;
  readonly startedAt: string;
}

/**
 * Everything a step may read while it runs: the trigger input, the outputs of the steps that ran
 * before it (keyed by step id) and the instance identity. Conditions address it with dotted paths
 * (`trigger.message.text`, `steps.fetch.output.status`) and templates with `{{ ... }}`.
 * Plain JSON data only, so it can be stored and rebuilt for every step job.
 */
export interface RunContext {
  readonly trigger: JsonValue;
  readonly steps: Readonly<Record<string, StepRecord>>;
  readonly instance: RunInstanceInfo;
}

/** The top-level names of a {@link RunContext}; the first segment of every condition path. */
export const RUN_CONTEXT_ROOTS = ['trigger', 'steps', 'instance'] as const;
export type RunContextRoot = (typeof RUN_CONTEXT_ROOTS)[number];
