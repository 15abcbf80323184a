import type { StepScheduler } from '../ports/step-scheduler.port.js';
import { AgendaStepScheduler, type AgendaStepSchedulerOptions } from './agenda-step-scheduler.js';

/** Everything but the backend, which follows from the URLs given. */
export type CreateStepSchedulerOptions = Omit<AgendaStepSchedulerOptions, 'backend'>;

/**
 * The step scheduler for this deployment: MongoDB when a MongoDB URL is configured (the
 * production shape), otherwise Postgres in the app's own database.
 */
export function createStepScheduler(options: CreateStepSchedulerOptions): StepScheduler {
  return new AgendaStepScheduler({ ...options, backend: options.mongoUrl ? 'mongo' : 'postgres' });
}
