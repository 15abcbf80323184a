import type { JsonObject } from './json.js';
import { frequencyProblem } from './schedule.js';
import type { ConfigIssue, StepTypeInfo } from './step-type-catalog.js';

/** What a deployment allows of schedule triggers; it comes from validated configuration. */
export interface ScheduleRules {
  /** Two ticks of one schedule are at least this far apart. */
  readonly minIntervalMs: number;
}

/**
 * The problem with a valid config of a step type started on a schedule, under the deployment's
 * rules: a schedule that never fires, or fires more often than they allow, measured from `now`.
 * Undefined for every other type, and for a schedule that is fine.
 */
export const scheduleIssue = (info: StepTypeInfo, config: JsonObject, rules: ScheduleRules | undefined, now = new Date()): ConfigIssue | undefined => {
  const schedule = info.schedule?.(config);
  if (schedule === undefined) return undefined;
  const problem = frequencyProblem(schedule, { minIntervalMs: rules?.minIntervalMs ?? 0, now });
  return problem === undefined ? undefined : { path: schedule.field, message: problem };
};
