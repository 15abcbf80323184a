import {
  nextInstanceStatus,
  nextStepRunStatus,
  type InstanceEvent,
  type InstanceStatus,
  type StepRunEvent,
  type StepRunStatus,
} from '../domain/run-state-machine.js';

/** A step-run transition checked against the state machine; illegal ones throw before anything is written. */
export const stepMove = (from: StepRunStatus, event: StepRunEvent) =>
  ({ from, event, to: nextStepRunStatus(from, event) }) as const;

/** An instance transition checked against the state machine. */
export const instanceMove = (from: InstanceStatus, event: InstanceEvent) =>
  ({ from, event, to: nextInstanceStatus(from, event) }) as const;
