export {
  AGENDA_STEP_SCHEDULER_DEFAULTS,
  AgendaStepScheduler,
  type AgendaStepSchedulerOptions,
  type SchedulerBackend,
  type SchedulerNotifications,
} from './agenda-step-scheduler.js';
export { createStepScheduler, type CreateStepSchedulerOptions } from './create-step-scheduler.js';
export { STEP_JOB_NAME, parseStepJobData, stepJobData, type StepJobData } from './step-job.js';
