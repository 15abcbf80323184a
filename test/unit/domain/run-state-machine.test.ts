import { describe, expect, test } from 'vitest';
import {
  IllegalTransitionError,
  INSTANCE_STATUSES,
  nextInstanceStatus,
  nextStepRunStatus,
  STEP_RUN_STATUSES,
  transitionTables,
  type InstanceEvent,
  type InstanceStatus,
  type StepRunEvent,
  type StepRunStatus,
} from '../../../src/domain/run-state-machine.js';

describe('instance state machine', () => {
  test.each<[InstanceStatus, InstanceEvent, InstanceStatus]>([
    ['PENDING', 'start', 'RUNNING'],
    ['RUNNING', 'wait', 'WAITING'],
    ['WAITING', 'resume', 'RUNNING'],
    ['RUNNING', 'complete', 'COMPLETED'],
    ['RUNNING', 'fail', 'FAILED'],
    ['PENDING', 'cancel', 'CANCELLED'],
    ['RUNNING', 'cancel', 'CANCELLED'],
    ['WAITING', 'cancel', 'CANCELLED'],
    ['FAILED', 'retry', 'RUNNING'],
  ])('%s --%s--> %s', (from, event, to) => {
    expect(nextInstanceStatus(from, event)).toBe(to);
  });

  test.each<[InstanceStatus, InstanceEvent]>([
    ['COMPLETED', 'start'],
    ['COMPLETED', 'cancel'],
    ['CANCELLED', 'resume'],
    ['WAITING', 'complete'],
    ['PENDING', 'complete'],
    ['FAILED', 'cancel'],
    ['RUNNING', 'retry'],
  ])('%s --%s--> is illegal', (from, event) => {
    expect(() => nextInstanceStatus(from, event)).toThrow(IllegalTransitionError);
  });

  test('terminal states have no way out except retrying a failure', () => {
    for (const event of Object.keys(transitionTables.instance) as InstanceEvent[]) {
      for (const terminal of ['COMPLETED', 'CANCELLED'] as const) {
        expect(() => nextInstanceStatus(terminal, event)).toThrow(IllegalTransitionError);
      }
    }
    expect(INSTANCE_STATUSES).toHaveLength(6);
  });
});

describe('step-run state machine', () => {
  test.each<[StepRunStatus, StepRunEvent, StepRunStatus]>([
    ['SCHEDULED', 'start', 'RUNNING'],
    ['RETRYING', 'start', 'RUNNING'],
    ['RUNNING', 'succeed', 'SUCCEEDED'],
    ['RUNNING', 'fail', 'FAILED'],
    ['RUNNING', 'retry', 'RETRYING'],
    ['RUNNING', 'wait', 'SCHEDULED'],
    ['SCHEDULED', 'wake', 'SCHEDULED'],
    ['RUNNING', 'lose', 'RETRYING'],
    ['SCHEDULED', 'cancel', 'CANCELLED'],
    ['RUNNING', 'cancel', 'CANCELLED'],
    ['SCHEDULED', 'resume', 'RUNNING'],
    ['FAILED', 'reschedule', 'RETRYING'],
  ])('%s --%s--> %s', (from, event, to) => {
    expect(nextStepRunStatus(from, event)).toBe(to);
  });

  test.each<[StepRunStatus, StepRunEvent]>([
    ['SUCCEEDED', 'start'],
    ['SUCCEEDED', 'fail'],
    ['SCHEDULED', 'succeed'],
    ['CANCELLED', 'start'],
    ['SKIPPED', 'start'],
    ['RETRYING', 'succeed'],
    ['RUNNING', 'wake'],
    ['RETRYING', 'wake'],
    // Only the end of a wait resumes; a retry is a start.
    ['RETRYING', 'resume'],
  ])('%s --%s--> is illegal', (from, event) => {
    expect(() => nextStepRunStatus(from, event)).toThrow(/Illegal step transition/);
  });

  test('every target of the table is a known status', () => {
    for (const row of Object.values(transitionTables.step)) {
      for (const to of Object.values(row)) expect(STEP_RUN_STATUSES).toContain(to);
    }
  });
});
