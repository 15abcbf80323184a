import { describe, expect, it } from 'vitest';
import { ActionError } from '../../../src/domain/action-error.js';
import { compileVersion } from '../../../src/engine/compiled-version.js';
import { countedAttempts, errorOutput, MAX_LOST_WORKERS, planFailure, planHandBack, planLost, planResult, planWake } from '../../../src/engine/step-outcome.js';
import type { JsonObject } from '../../../src/domain/json.js';
import type { InstanceRecord, StepRunRecord } from '../../../src/ports/run-records.js';

const now = new Date('2026-12-02T10:00:00.000Z');
const instance: InstanceRecord = {
  id: 'i1', workspaceId: 'w', workflowId: 'wf', version: 1, status: 'RUNNING', input: {}, idempotencyKey: null, idempotencySource: null,
  eventSeq: 4, currentStepId: 'a', waitReason: null, error: null, createdAt: now, startedAt: now, finishedAt: null, updatedAt: now,
};
const stepRun = (over: Partial<StepRunRecord> = {}): StepRunRecord => ({
  id: 'r1', instanceId: 'i1', stepId: 'a', stepType: 'sms.send', status: 'RUNNING', attempt: 1, attemptsBeforeRetry: 0, input: null, output: null,
  error: null, dueAt: now, leaseUntil: null, resumed: false, waitReason: null, arrival: null, lostCount: 0, handbackCount: 0, fence: 3, leaseOwner: 'w1',
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
    // A timer: the reason is recorded on both, and nothing is registered to wake it.
    expect(wait.change.instance).toMatchObject({ to: 'WAITING', patch: { waitReason: 'timer' } });
    expect(wait.change.steps![0]!.patch).toMatchObject({ waitReason: 'timer', arrival: null });
    expect(wait.change.wait).toBeUndefined();
  });

  it('parks a step waiting for an event with its registration, at the fence of its attempt, in the same change', () => {
    const until = new Date(now.getTime() + 60_000);
    const target = { reason: 'event', name: 'order.paid', key: 'order-7' } as const;
    const wait = planResult({ attempt, version, now, chain, newId, result: { kind: 'wait', until, output: null, for: target } });
    expect(wait.change.instance).toMatchObject({ from: 'RUNNING', to: 'WAITING', patch: { waitReason: 'event' } });
    expect(wait.change.steps![0]).toMatchObject({ to: 'SCHEDULED', fence: 3, patch: { dueAt: until, waitReason: 'event' }, detail: { for: 'event', key: 'order-7' } });
    expect(wait.change.wait).toEqual({ stepRunId: 'r1', fence: 3, workspaceId: 'w', target });
    expect(wait.enqueue).toEqual({ stepRunId: 'r1', at: until });
  });

  const message = { reason: 'message', channel: 'sms', contact: '+15550100', stepId: 'a' } as const;
  const allowing = compileVersion({ workflowId: 'wf', version: 2, graph: { steps: [], edges: [] }, repliesAlsoStartWorkflows: true, isTrigger: () => false });
  it.each([
    ['neither the step nor the version lets it', false, version, false],
    ['the step lets it', true, version, true],
    ["the version's workflow setting lets it", false, allowing, true],
    ['both let it', true, allowing, true],
  ])('a message wait lets its reply also start workflows when %s', (_, step, pinned, stored) => {
    const until = new Date(now.getTime() + 60_000);
    const target = { ...message, alsoStartsWorkflows: step };
    const wait = planResult({ attempt, version: pinned, now, chain, newId, result: { kind: 'wait', until, output: null, for: target } });
    expect(wait.change.wait).toEqual({ stepRunId: 'r1', fence: 3, workspaceId: 'w', target: { ...target, alsoStartsWorkflows: stored } });
  });

  it("an event wait is stored as it is, whatever the version's reply setting", () => {
    const target = { reason: 'event', name: 'order.paid', key: 'order-7' } as const;
    const wait = planResult({ attempt, version: allowing, now, chain, newId, result: { kind: 'wait', until: now, output: null, for: target } });
    expect(wait.change.wait?.target).toEqual(target);
  });
});

describe('planWake', () => {
  it('makes the waiting step due now with the arrival, fenced on its wait and raising the fence, only while the instance waits', () => {
    const arrival = { reason: 'event', payload: { paid: true }, at: now.toISOString() } as const;
    const change = planWake({ step: { stepRunId: 'r1', stepId: 'a', instanceId: 'i1', attempt: 1, fence: 3 }, arrival, now, detail: { key: 'k' } });
    expect(change).toEqual({
      instanceId: 'i1',
      instanceIs: 'WAITING',
      steps: [
        {
          stepRunId: 'r1', stepId: 'a', from: 'SCHEDULED', to: 'SCHEDULED', event: 'wake', attempt: 1, fence: 3, raiseFence: true,
          patch: { dueAt: now, enqueuedAt: now, arrival }, detail: { key: 'k' },
        },
      ],
    });
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

  it("logs the failure's message, code and HTTP status with the attempt (what its attempts show)", () => {
    const failure = new ActionError('HTTP 503 from crm', { retryable: true, details: { status: 503, body: 'down' } });
    const retry = planFailure({ attempt, failure, retryDelayMs: 1000, now });
    expect(retry.change.steps![0]!.detail).toEqual({
      reason: 'HTTP 503 from crm',
      code: 'HTTP_503',
      status: 503,
      retryAt: new Date(now.getTime() + 1000).toISOString(),
    });
    const fail = planFailure({ attempt, failure: new ActionError('no', { retryable: false, details: { code: 'RECIPIENT_INVALID' } }), retryDelayMs: null, now });
    expect(fail.change.steps![0]!.detail).toEqual({ reason: 'no', code: 'RECIPIENT_INVALID' });
  });
});

describe('planFailure with an error edge', () => {
  /** t → call ─next→ ok, call ─error→ alert; and a step whose error port has no edge. */
  const caught = compileVersion({
    workflowId: 'wf',
    version: 1,
    isTrigger: (type) => type === 'trigger.manual',
    graph: {
      steps: ['t', 'call', 'ok', 'alert', 'lone'].map((id) => ({
        id,
        type: id === 't' ? 'trigger.manual' : 'http.request',
        name: id,
        config: { n: id },
        position: { x: 0, y: 0 },
      })),
      edges: [
        { from: 't', port: 'next', to: 'call' },
        { from: 'call', port: 'next', to: 'ok' },
        { from: 'call', port: 'error', to: 'alert' },
      ],
    },
  });
  const callAttempt = { instance, stepRun: stepRun({ stepId: 'call', attempt: 3 }) };
  const http500 = new ActionError('HTTP 500 from crm', { retryable: true, details: { status: 500, body: 'down' } });

  const cases: [string, Parameters<typeof planFailure>[0], { instanceTo?: string; next?: string; enqueue?: boolean; skipped?: string[] }][] = [
    ['retries left: a retry, the edge waits', { attempt: callAttempt, failure: http500, retryDelayMs: 100, now, errorEdge: { version: caught, chain, newId } }, { enqueue: true }],
    ['retries exhausted, chained: the error target is claimed in the same change', { attempt: callAttempt, failure: http500, retryDelayMs: null, now, errorEdge: { version: caught, chain, newId } }, { next: 'alert', skipped: ['ok'] }],
    ['retries exhausted, not chained: the error target is scheduled', { attempt: callAttempt, failure: http500, retryDelayMs: null, now, errorEdge: { version: caught, chain: undefined, newId } }, { enqueue: true, skipped: ['ok'] }],
    ['no edge on the error port: the instance fails', { attempt: { instance, stepRun: stepRun({ stepId: 'lone' }) }, failure: http500, retryDelayMs: null, now, errorEdge: { version: caught, chain, newId } }, { instanceTo: 'FAILED' }],
    ['a type without an error port (no errorEdge): the instance fails', { attempt: callAttempt, failure: http500, retryDelayMs: null, now }, { instanceTo: 'FAILED' }],
  ];
  it.each(cases)('%s', (_name, options, expected) => {
    const plan = planFailure(options);
    expect(plan.change.instance?.to).toBe(expected.instanceTo);
    expect(plan.next?.stepRun.stepId).toBe(expected.next);
    expect(plan.enqueue !== undefined).toBe(expected.enqueue ?? false);
    expect((plan.change.newStepRuns ?? []).filter((r) => r.status === 'SKIPPED').map((r) => r.stepId)).toEqual(expected.skipped ?? []);
  });

  it('records the step FAILED and handled, with its error as its output', () => {
    const plan = planFailure({ attempt: callAttempt, failure: http500, retryDelayMs: null, now, errorEdge: { version: caught, chain, newId } });
    expect(plan.change.instanceIs).toBe('RUNNING');
    expect(plan.change.steps![0]).toMatchObject({
      event: 'fail',
      to: 'FAILED',
      fence: 3,
      detail: { handled: true, port: 'error' },
      patch: {
        error: { message: 'HTTP 500 from crm', retryable: true, handled: true },
        output: { message: 'HTTP 500 from crm', code: 'HTTP_500', status: 500, attempt: 3, retryable: true, details: { status: 500, body: 'down' } },
      },
    });
  });
});

describe('errorOutput', () => {
  const cases: [string, JsonObject, string, number | undefined][] = [
    ['a port failure code wins', { code: 'RECIPIENT_INVALID' }, 'RECIPIENT_INVALID', undefined],
    ['then an action reason', { reason: 'template_render' }, 'template_render', undefined],
    ['then the HTTP status', { status: 502 }, 'HTTP_502', 502],
    ['otherwise a generic code', {}, 'STEP_FAILED', undefined],
  ];
  it.each(cases)('%s', (_name, details, code, status) => {
    const out = errorOutput({ message: 'm', retryable: false, details }, 1);
    expect(out.code).toBe(code);
    expect(out.status).toBe(status);
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

  it('nor do the attempts before a retryInstance', () => {
    expect(countedAttempts(stepRun({ attempt: 5, attemptsBeforeRetry: 3 }))).toBe(2);
    expect(countedAttempts(stepRun({ attempt: 6, attemptsBeforeRetry: 3, lostCount: 1 }))).toBe(2);
  });

  it("the log entries of lost and handed-back attempts say so in a code (the attempts' error)", () => {
    expect(planLost({ stepRun: stepRun(), now }).change.steps![0]!.detail).toMatchObject({ code: 'WORKER_LOST' });
    expect(planLost({ stepRun: stepRun({ lostCount: MAX_LOST_WORKERS - 1 }), now }).change.steps![0]!.detail).toMatchObject({ code: 'WORKER_LOST' });
    expect(planHandBack({ attempt, now, worker: 'w1' }).change.steps![0]!.detail).toMatchObject({ code: 'WORKER_STOPPED' });
  });
});
