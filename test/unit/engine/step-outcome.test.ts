import { describe, expect, it } from 'vitest';
import { ActionError } from '../../../src/domain/action-error.js';
import { compileVersion } from '../../../src/engine/compiled-version.js';
import { countedAttempts, MAX_LOST_WORKERS, planFailure, planHandBack, planLost, planResult } from '../../../src/engine/step-outcome.js';
import type { InstanceRecord, StepRunRecord } from '../../../src/ports/run-records.js';

const now = new Date('2026-12-02T10:00:00.000Z');
const instance: InstanceRecord = {
  id: 'i1', workspaceId: 'w', workflowId: 'wf', version: 1, status: 'RUNNING', input: {}, idempotencyKey: null, idempotencySource: null,
  eventSeq: 4, currentStepId: 'a', error: null, createdAt: now, startedAt: now, finishedAt: null, updatedAt: now,
};
const stepRun = (over: Partial<StepRunRecord> = {}): StepRunRecord => ({
  id: 'r1', instanceId: 'i1', stepId: 'a', stepType: 'sms.send', status: 'RUNNING', attempt: 1, input: null, output: null,
  error: null, dueAt: now, leaseUntil: null, resumed: false, lostCount: 0, handbackCount: 0, fence: 3, leaseOwner: 'w1',
  createdAt: now, startedAt: now, finishedAt: null, ...over,
});
const version = compileVersion({
  workflowId: 'wf',
  version: 1,
  isTrigger: (type) => type === 'trigger.manual',
  graph: {
    steps: [
      { id: 't', type: 'trigger.manual', name: 't', config: {}, position: { x: 0, y: 0 } },
      { id: 'a', type: 'condition', name: 'a', config: {}, position: { x: 0, y: 0 } },
      { id: 'yes', type: 'sms.send', name: 'yes', config: { to: '+1' }, position: { x: 0, y: 0 } },
      { id: 'no', type: 'sms.send', name: 'no', config: {}, position: { x: 0, y: 0 } },
    ],
    edges: [
      { from: 't', port: 'next', to: 'a' },
      { from: 'a', port: 'true', to: 'yes' },
      { from: 'a', port: 'false', to: 'no' },
    ],
  },
});
let ids = 0;
const newId = () => `n${++ids}`;
const attempt = { instance, stepRun: stepRun() };
const chain = { owner: 'w1', leaseMs: 30_000 };

describe('planResult', () => {
  it('continues into the next step created running for this worker, in the same change, fenced on the attempt', () => {
    const plan = planResult({ attempt, version, now, chain, newId, result: { kind: 'continue', port: 'true', output: { ok: 1 } } });
    expect(plan.change.steps).toEqual([
      expect.objectContaining({ stepRunId: 'r1', from: 'RUNNING', to: 'SUCCEEDED', event: 'succeed', fence: 3, detail: { port: 'true' } }),
    ]);
    expect(plan.change.instanceIs).toBe('RUNNING');
    expect(plan.change.instancePatch).toEqual({ currentStepId: 'yes' });
    expect(plan.change.newStepRuns).toEqual([
      expect.objectContaining({ stepId: 'no', status: 'SKIPPED' }),
      expect.objectContaining({ stepId: 'yes', status: 'RUNNING', claim: chain, input: { to: '+1' }, startDetail: { worker: 'w1' } }),
    ]);
    expect(plan.enqueue).toBeUndefined();
    expect(plan.next?.stepRun).toMatchObject({ stepId: 'yes', status: 'RUNNING', attempt: 1, fence: 1, leaseOwner: 'w1' });
  });

  it('without a chain lease (a stopping worker) schedules the next step as a job instead', () => {
    const plan = planResult({ attempt, version, now, chain: undefined, newId, result: { kind: 'continue', port: 'false', output: null } });
    const next = plan.change.newStepRuns!.find((r) => r.stepId === 'no')!;
    expect(next.status).toBe('SCHEDULED');
    expect(plan.enqueue).toEqual({ stepRunId: next.id });
    expect(plan.next).toBeUndefined();
  });

  it('completes the instance when the port leads nowhere; parks the step on a wait', () => {
    const done = planResult({ attempt: { instance, stepRun: stepRun({ stepId: 'yes' }) }, version, now, chain, newId, result: { kind: 'continue', port: 'next', output: 1 } });
    expect(done.change.instance).toMatchObject({ from: 'RUNNING', to: 'COMPLETED', event: 'complete' });
    const until = new Date(now.getTime() + 1000);
    const wait = planResult({ attempt, version, now, chain, newId, result: { kind: 'wait', until, output: null } });
    expect(wait.change.steps![0]).toMatchObject({ from: 'RUNNING', to: 'SCHEDULED', event: 'wait', fence: 3, patch: { dueAt: until, resumed: true } });
    expect(wait.enqueue).toEqual({ stepRunId: 'r1', at: until });
  });

  it('stores an output with NUL characters cleaned, and says so', () => {
    const plan = planResult({ attempt: { instance, stepRun: stepRun({ stepId: 'yes' }) }, version, now, chain, newId, result: { kind: 'complete', output: { id: 'a\u0000b' } } });
    expect(plan.change.steps![0]!.patch!.output).toEqual({ id: 'a\uFFFDb' });
    expect(plan.change.steps![0]!.detail).toEqual({ outputSanitized: true });
  });
});

describe('planFailure', () => {
  it('retries later when a delay is given, otherwise fails the step and the instance; both fenced', () => {
    const failure = new ActionError('HTTP 503', { retryable: true, details: { body: 'x\u0000' } });
    const retry = planFailure({ attempt, failure, retryDelayMs: 1000, now });
    expect(retry.change.steps![0]).toMatchObject({ event: 'retry', to: 'RETRYING', fence: 3, patch: { dueAt: new Date(now.getTime() + 1000) } });
    expect(retry.enqueue).toEqual({ stepRunId: 'r1', at: new Date(now.getTime() + 1000) });
    const fail = planFailure({ attempt, failure, retryDelayMs: null, now });
    expect(fail.change.instance).toMatchObject({ to: 'FAILED', event: 'fail' });
    expect(fail.change.steps![0]).toMatchObject({ event: 'fail', fence: 3, patch: { error: { message: 'HTTP 503', details: { body: 'x\uFFFD' } } } });
  });
});

describe('hand-backs', () => {
  it('a drain releases the attempt, due at once, without using up a retry', () => {
    const plan = planHandBack({ attempt, now, worker: 'w1' });
    expect(plan.change.steps![0]).toMatchObject({ event: 'release', from: 'RUNNING', to: 'RETRYING', fence: 3, patch: { dueAt: now, handbackCount: 1 } });
    expect(plan.enqueue).toEqual({ stepRunId: 'r1' });
  });

  it('the sweep hands a lost attempt back only if its lease ran out, fenced; the last loss fails it', () => {
    const lost = planLost({ stepRun: stepRun({ lostCount: 0 }), now });
    expect(lost.change.steps![0]).toMatchObject({ event: 'lose', fence: 3, leaseExpired: true, patch: { lostCount: 1 } });
    expect(lost.change.steps![0]!.patch).not.toHaveProperty('attempt');
    const last = planLost({ stepRun: stepRun({ lostCount: MAX_LOST_WORKERS - 1 }), now });
    expect(last.change.steps![0]).toMatchObject({ event: 'fail', fence: 3, leaseExpired: true });
    expect(last.change.instance).toMatchObject({ to: 'FAILED' });
    expect(last.enqueue).toBeUndefined();
  });

  it('lost and handed-back attempts do not count against the retry policy', () => {
    expect(countedAttempts(stepRun({ attempt: 5, lostCount: 2, handbackCount: 1 }))).toBe(2);
  });
});
