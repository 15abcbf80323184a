import { describe, expect, it } from 'vitest';
import { FailureHandlers, failureHandlerKey } from '../../../src/engine/failure-handlers.js';
import { compileVersion } from '../../../src/engine/compiled-version.js';
import type { InstanceRecord, StepRunRecord } from '../../../src/ports/run-records.js';
import type { WorkflowRunner } from '../../../src/engine/workflow-runner.js';

const now = new Date('2026-12-03T00:00:00.000Z');
const failed: InstanceRecord = {
  id: 'i1', workspaceId: 'ws', workflowId: 'wf', version: 2, status: 'FAILED', input: {}, idempotencyKey: null, idempotencySource: null,
  eventSeq: 9, currentStepId: null, waitReason: null, error: { stepId: 'call', attempt: 3, reason: 'HTTP 500' }, createdAt: now, startedAt: now,
  finishedAt: now, updatedAt: now,
};

type Start = Parameters<WorkflowRunner['start']>;
const stepRun: StepRunRecord = {
  id: 'r1', instanceId: 'i1', stepId: 'call', stepType: 'http.request', status: 'FAILED', attempt: 3, attemptsBeforeRetry: 0, input: null, output: null,
  error: null, dueAt: now, leaseUntil: null, resumed: false, waitReason: null, arrival: null, lostCount: 0, handbackCount: 0, fence: 3, leaseOwner: 'w1',
  createdAt: now, startedAt: now, finishedAt: now,
};

function setUp(instance: InstanceRecord | undefined, handlerId: string | null) {
  const starts: Start[] = [];
  const handlers = new FailureHandlers({
    runs: { loadForExecution: async () => (instance ? { instance, stepRun } : undefined) },
    versions: {
      get: async (workflowId, version) =>
        compileVersion({ workflowId, version, graph: { steps: [], edges: [] }, failureHandlerWorkflowId: handlerId, isTrigger: () => false }),
    },
    runner: {
      start: async (...args: Start) => {
        starts.push(args);
        return { instance: failed, created: true };
      },
    },
  });
  return { handlers, starts };
}

describe('FailureHandlers.afterFailure', () => {
  const cases: [string, InstanceRecord | undefined, string | null, boolean][] = [
    ['a failed instance whose version names a handler', failed, 'h1', true],
    ['no handler named', failed, null, false],
    ['the instance is not FAILED as stored (the change did not apply, or a retry moved it on)', { ...failed, status: 'RUNNING' }, 'h1', false],
    ['the step run is gone', undefined, 'h1', false],
    ["a handler's own run: its failures start no handler", { ...failed, idempotencySource: 'failure-handler', idempotencyKey: 'x:1' }, 'h1', false],
  ];
  it.each(cases)('%s', async (_name, instance, handlerId, starts) => {
    const { handlers, starts: made } = setUp(instance, handlerId);
    await handlers.afterFailure({ instanceId: 'i1', stepRunId: 'r1' });
    expect(made.length).toBe(starts ? 1 : 0);
  });

  it('starts the handler in the failed workspace, keyed by the failure, with where and why as input', async () => {
    const { handlers, starts } = setUp(failed, 'h1');
    await handlers.afterFailure({ instanceId: 'i1', stepRunId: 'r1' });
    expect(starts[0]).toEqual([
      { workspaceId: 'ws' },
      {
        workflowId: 'h1',
        idempotency: { source: 'failure-handler', key: 'i1:9' },
        input: { instanceId: 'i1', workflowId: 'wf', version: 2, stepId: 'call', attempt: 3, reason: 'HTTP 500', failedAt: now.toISOString() },
      },
    ]);
    expect(failureHandlerKey(failed)).toBe('i1:9');
  });
});
