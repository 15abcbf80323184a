import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { StepExecutor } from '../../src/engine/step-executor.js';
import type { RunChange } from '../../src/ports/run-records.js';
import {
  ApplyEditsDocument,
  ConnectStepsDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstanceUpdatedDocument,
  PublishWorkflowDocument,
  RedoDocument,
  RetryInstanceDocument,
  StartWorkflowDocument,
  UndoDocument,
  UpdateWorkflowDocument,
  WorkflowDocument,
  type EditInput,
  type InstanceQuery,
} from '../../src/sdk/operations.generated.js';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import { collect, wsClient } from '../support/ws-client.js';

/**
 * Error paths through GraphQL: an action step whose retries are exhausted follows its `error`
 * edge with the error as its output, and a workflow's failure handler is started once per
 * failure of one of its instances.
 */
type Instance = InstanceQuery['workflowInstance'];

let server: TestServer;
let client: GraphQLClient;
const remote = new FakeHttpServer();
let remoteUrl: string;

beforeAll(async () => {
  remoteUrl = await remote.start();
  remote.respond = (req) =>
    req.url.startsWith('/fail')
      ? { status: 500, body: '{"error":"down"}', headers: { 'content-type': 'application/json' } }
      : { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } };
  server = await startTestServer({ env: { HTTP_ALLOW_PRIVATE_NETWORKS: 'true' } });
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
  await remote.stop();
});

async function draft(name: string, edits: EditInput[]): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  return createWorkflow.id;
}

async function publish(name: string, edits: EditInput[]): Promise<string> {
  const id = await draft(name, edits);
  await client.request(PublishWorkflowDocument, { workflowId: id });
  return id;
}

const instanceOf = async (id: string): Promise<Instance> => (await client.request(InstanceDocument, { id })).workflowInstance;
const until = (id: string, statuses: string[]) =>
  waitFor(() => instanceOf(id), (i) => statuses.includes(i.status), { what: `instance ${id} to reach ${statuses.join('/')}` });

const trigger: EditInput = { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } };
const failingCall = (path: string, maxAttempts = 2): EditInput => ({
  addStep: {
    id: 'call',
    type: 'http.request',
    name: 'Call the CRM',
    config: { method: 'POST', url: `${remoteUrl}/fail${path}`, body: 'x', retry: { maxAttempts, initialDelayMs: 50, maxDelayMs: 50 } },
    after: { stepId: 't', port: 'next' },
  },
});

const HANDLER_RUNS = `query($id: ID!) { workflowInstances(workflowId: $id) { totalCount edges { node { id status idempotencyKey idempotencySource input } } } }`;
interface HandlerRuns {
  workflowInstances: {
    totalCount: number;
    edges: { node: { id: string; status: string; idempotencyKey: string; idempotencySource: string; input: Record<string, unknown> } }[];
  };
}
const handlerRuns = async (workflowId: string) => (await client.request<HandlerRuns, { id: string }>(HANDLER_RUNS, { id: workflowId })).workflowInstances;

describe('the error port', () => {
  test('an HTTP 500 after the last retry follows the error edge: the error is the output, later templates read it, the instance completes', async () => {
    const workflowId = await publish('error edge', [
      trigger,
      failingCall('/with-edge'),
      { addStep: { id: 'ok', type: 'sms.send', name: 'All good', config: { to: '+15550100', text: 'fine' }, after: { stepId: 'call', port: 'next' } } },
      {
        addStep: {
          id: 'alert',
          type: 'sms.send',
          name: 'Alert',
          config: {
            to: '+15550100',
            text: '{{steps.call.error.message}}|{{steps.call.error.status}}|{{steps.call.error.code}}|{{steps.call.error.attempt}}|{{steps.call.output.status}}',
          },
        },
      },
      { connectSteps: { from: 'call', port: 'error', to: 'alert' } },
    ]);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const done = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);

    expect(done.status).toBe('COMPLETED');
    expect(done.error).toBeNull();
    const call = done.stepRuns.find((r) => r.stepId === 'call')!;
    expect(call.status).toBe('FAILED');
    expect(call.attempt).toBe(2);
    expect(call.error).toMatchObject({ handled: true, retryable: true });
    expect(call.output).toMatchObject({ code: 'HTTP_500', status: 500, attempt: 2, retryable: true });
    expect(done.stepRuns.find((r) => r.stepId === 'ok')?.status).toBe('SKIPPED');
    expect(done.stepRuns.find((r) => r.stepId === 'alert')?.status).toBe('SUCCEEDED');
    const host = new URL(remoteUrl).host;
    expect(done.messages.edges.map((e) => e.node.text)).toEqual([`HTTP 500 from ${host}|500|HTTP_500|2|500`]);
    // The transition the subscriptions deliver: the step fails, handled, along the error port.
    const fail = done.events.find((e) => e.stepId === 'call' && e.event === 'fail');
    expect(fail).toMatchObject({ fromStatus: 'RUNNING', toStatus: 'FAILED', detail: { handled: true, port: 'error' } });
    expect(done.events.filter((e) => e.entity === 'INSTANCE').map((e) => e.event)).toEqual(['create', 'start', 'complete']);

    // Subscribers see the same transitions: the handled failure, then the error branch, then the end.
    const ws = wsClient(server.url, server.apiKey);
    try {
      const live = collect(ws, InstanceUpdatedDocument, { instanceId: done.id, since: 0 });
      await waitFor(async () => live.items.length, (n) => n >= done.events.length, { what: 'the instance replay' });
      live.stop();
      const story = live.items.map(({ instanceUpdated: { event } }) => `${event.stepId ?? 'instance'} ${event.event} ${event.toStatus}`);
      const failAt = story.indexOf('call fail FAILED');
      expect(failAt).toBeGreaterThan(0);
      expect(story.slice(failAt + 1)).toEqual(expect.arrayContaining(['alert start RUNNING', 'alert succeed SUCCEEDED', 'ok skip SKIPPED']));
      expect(story.at(-1)).toBe('instance complete COMPLETED');
    } finally {
      await ws.dispose();
    }
  });

  test('without an error edge the same failure fails the instance', async () => {
    const workflowId = await publish('no error edge', [trigger, failingCall('/no-edge')]);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const done = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatchObject({ stepId: 'call', attempt: 2 });
    expect(done.stepRuns.find((r) => r.stepId === 'call')?.error).toMatchObject({ handled: false });
  });

  test('an error edge from a step type without an error port is refused', async () => {
    const workflowId = await draft('no error port', [
      trigger,
      { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 1, unit: 'seconds' } }, after: { stepId: 't', port: 'next' } } },
      { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1555', text: 'x' } } },
    ]);
    const refused = await client.expectError(ConnectStepsDocument, { workflowId, input: { from: 'wait', port: 'error', to: 'sms' } });
    expect(refused.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.extensions?.field).toBe('port');
    expect(refused.message).toMatch(/no error port/);
  });

  test('actionTypes lists the error port on action steps only', async () => {
    const { actionTypes } = await client.request<
      { actionTypes: { type: string; hasErrorPort: boolean; outputPorts: { name: string; required: boolean }[] }[] },
      Record<string, never>
    >('{ actionTypes { type hasErrorPort outputPorts { name required } } }');
    const ports = new Map(actionTypes.map((t) => [t.type, t.outputPorts.map((p) => p.name)]));
    expect(actionTypes.find((t) => t.type === 'http.request')).toMatchObject({ hasErrorPort: true });
    expect(actionTypes.find((t) => t.type === 'condition')).toMatchObject({ hasErrorPort: false });
    expect(ports.get('http.request')).toEqual(['next', 'error']);
    expect(ports.get('sms.send')).toEqual(['next', 'error']);
    expect(ports.get('delay')).toEqual(['next']);
    expect(ports.get('trigger.manual')).toEqual(['next']);
  });
});

describe('the failure handler', () => {
  async function handlerWorkflow(name: string): Promise<string> {
    return publish(name, [
      trigger,
      { addStep: { id: 'tell', type: 'sms.send', name: 'Tell ops', config: { to: '+15550199', text: '{{trigger.stepId}}: {{trigger.reason}}' }, after: { stepId: 't', port: 'next' } } },
    ]);
  }

  test('is an undoable setting, and publishing reports one that is not a published workflow of the workspace', async () => {
    const unpublished = await draft('handler draft', [trigger]);
    const workflowId = await draft('needs a handler', [trigger, failingCall('/unpublished')]);
    const set = await client.request(UpdateWorkflowDocument, { id: workflowId, input: { failureHandlerWorkflowId: unpublished } });
    expect(set.updateWorkflow.label).toBe('Set the failure handler');
    expect(set.updateWorkflow.workflow.failureHandlerWorkflowId).toBe(unpublished);

    const refused = await client.expectError(PublishWorkflowDocument, { workflowId });
    expect(refused.extensions?.code).toBe('VALIDATION_FAILED');
    expect(refused.extensions?.problems).toEqual([expect.objectContaining({ code: 'INVALID_FAILURE_HANDLER' })]);

    const undone = await client.request(UndoDocument, { workflowId });
    expect(undone.undo.workflow.failureHandlerWorkflowId).toBeNull();
    const redone = await client.request(RedoDocument, { workflowId });
    expect(redone.redo.workflow.failureHandlerWorkflowId).toBe(unpublished);
    const removed = await client.request(UpdateWorkflowDocument, { id: workflowId, input: { failureHandlerWorkflowId: null } });
    expect(removed.updateWorkflow.label).toBe('Removed the failure handler');
    expect((await client.request(WorkflowDocument, { id: workflowId })).workflow.failureHandlerWorkflowId).toBeNull();
  });

  test("another workspace's workflow, the workflow itself and a non-id are refused with BAD_USER_INPUT", async () => {
    const other = await server.newWorkspace('other');
    const { createWorkflow: foreign } = await other.client.request(CreateWorkflowDocument, { input: { name: 'foreign' } });
    const workflowId = await draft('picky', [trigger]);
    for (const failureHandlerWorkflowId of [foreign.id, workflowId, 'not-an-id']) {
      const refused = await client.expectError(UpdateWorkflowDocument, { id: workflowId, input: { failureHandlerWorkflowId } });
      expect(refused.extensions?.code).toBe('BAD_USER_INPUT');
      expect(refused.extensions?.field).toBe('failureHandlerWorkflowId');
    }
    expect((await client.request(WorkflowDocument, { id: workflowId })).workflow.draftRevision).toBe(1);
  });

  test('is started once per failure, with the failed instance, step and reason as its input', async () => {
    const handlerId = await handlerWorkflow('ops handler');
    const workflowId = await draft('watched', [trigger, failingCall('/watched', 1)]);
    await client.request(UpdateWorkflowDocument, { id: workflowId, input: { failureHandlerWorkflowId: handlerId } });
    const published = await client.request(PublishWorkflowDocument, { workflowId });
    expect(published.publishWorkflow.version.failureHandlerWorkflowId).toBe(handlerId);

    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const failedId = startWorkflow.instance.id;
    const failed = await until(failedId, ['FAILED', 'COMPLETED']);
    expect(failed.status).toBe('FAILED');

    const first = await waitFor(() => handlerRuns(handlerId), (r) => r.totalCount >= 1 && r.edges.every((e) => e.node.status === 'COMPLETED'), {
      what: 'the handler run',
    });
    expect(first.totalCount).toBe(1);
    expect(first.edges[0]!.node).toMatchObject({
      idempotencySource: 'FAILURE_HANDLER',
      idempotencyKey: `${failedId}:${failed.eventSeq}`,
      input: { instanceId: failedId, workflowId, version: 1, stepId: 'call', attempt: 1, reason: `HTTP 500 from ${new URL(remoteUrl).host}` },
    });
    const handlerRun = await instanceOf(first.edges[0]!.node.id);
    expect(handlerRun.messages.edges.map((e) => e.node.text)).toEqual([`call: HTTP 500 from ${new URL(remoteUrl).host}`]);

    // A retried instance that fails again is a second failure: a second handler run.
    await client.request(RetryInstanceDocument, { id: failedId });
    const again = await waitFor(() => instanceOf(failedId), (i) => i.status === 'FAILED' && i.eventSeq > failed.eventSeq, { what: 'the second failure' });
    const second = await waitFor(() => handlerRuns(handlerId), (r) => r.totalCount >= 2, { what: 'the second handler run' });
    expect(second.totalCount).toBe(2);
    expect(second.edges.map((e) => e.node.idempotencyKey).sort()).toEqual([`${failedId}:${failed.eventSeq}`, `${failedId}:${again.eventSeq}`].sort());
  });

  test('a failing commit tried again and a redelivered job start the handler once', async () => {
    const handlerId = await handlerWorkflow('once handler');
    const workflowId = await draft('lost answer', [
      trigger,
      { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 60, unit: 'seconds' } }, after: { stepId: 't', port: 'next' } } },
      {
        addStep: {
          id: 'call',
          type: 'http.request',
          name: 'Call',
          config: { method: 'POST', url: `${remoteUrl}/fail/lost-answer`, body: 'x', retry: { maxAttempts: 1 } },
          after: { stepId: 'wait', port: 'next' },
        },
      },
    ]);
    await client.request(UpdateWorkflowDocument, { id: workflowId, input: { failureHandlerWorkflowId: handlerId } });
    await client.request(PublishWorkflowDocument, { workflowId });
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    const waiting = await until(id, ['WAITING']);
    const waitRun = waiting.stepRuns.find((r) => r.stepId === 'wait')!;

    // This test's worker runs the rest: its store applies the failure's commit, then loses the
    // answer (a retryable error), so the executor commits the same change again and misses.
    const appDeps = (server.app.engine.executor as unknown as { deps: EngineDeps }).deps;
    const failing: RunChange[] = [];
    const runs: EngineDeps['runs'] = {
      createInstance: (input) => appDeps.runs.createInstance(input),
      createInstances: (inputs) => appDeps.runs.createInstances(inputs),
      loadForExecution: (stepRunId) => appDeps.runs.loadForExecution(stepRunId),
      extendLease: (lease) => appDeps.runs.extendLease(lease),
      outputsOf: (instanceId, stepIds) => appDeps.runs.outputsOf(instanceId, stepIds),
      commit: async (change) => {
        const result = await appDeps.runs.commit(change);
        if (change.instance?.to === 'FAILED' && failing.push(change) === 1) {
          throw Object.assign(new Error('connection lost after the commit'), { retryable: true });
        }
        return result;
      },
    };
    const executor = new StepExecutor({ ...appDeps, runs, logger: pino({ level: 'silent' }), workerName: 'lossy-worker' });
    await server.app.database.sql`update step_runs set due_at = now() where id = ${waitRun.id}`;
    await executor.execute(waitRun.id);

    expect(failing).toHaveLength(2);
    const failed = await instanceOf(id);
    expect(failed.status).toBe('FAILED');
    // The job of the failed step delivered again runs nothing and starts nothing.
    await executor.execute(failed.stepRuns.find((r) => r.stepId === 'call')!.id);
    await executor.execute(waitRun.id);

    // execute() returns once the handler's start has committed.
    const started = await handlerRuns(handlerId);
    expect(started.totalCount).toBe(1);
    expect(started.edges[0]!.node.idempotencyKey).toBe(`${id}:${failed.eventSeq}`);
  });

  /** A workflow with that handler whose instance waits at a delay, so that this test's own executor runs its failure. */
  async function waitingToFail(name: string, handlerId: string): Promise<{ id: string; waitRunId: string }> {
    const workflowId = await draft(name, [
      trigger,
      { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 60, unit: 'seconds' } }, after: { stepId: 't', port: 'next' } } },
      {
        addStep: {
          id: 'call',
          type: 'http.request',
          name: 'Call',
          config: { method: 'POST', url: `${remoteUrl}/fail/${name.replaceAll(' ', '-')}`, body: 'x', retry: { maxAttempts: 1 } },
          after: { stepId: 'wait', port: 'next' },
        },
      },
    ]);
    await client.request(UpdateWorkflowDocument, { id: workflowId, input: { failureHandlerWorkflowId: handlerId } });
    await client.request(PublishWorkflowDocument, { workflowId });
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    const waiting = await until(id, ['WAITING']);
    const waitRunId = waiting.stepRuns.find((r) => r.stepId === 'wait')!.id;
    await server.app.database.sql`update step_runs set due_at = now() where id = ${waitRunId}`;
    return { id, waitRunId };
  }

  /** As if the sweep grace had passed since the instance failed. */
  const failedLongAgo = (id: string) => server.app.database.sql`update workflow_instances set finished_at = now() - interval '1 minute' where id = ${id}`;

  test('a failure whose handler start was lost (the worker died after its commit) gets its handler from the sweep, once', async () => {
    const handlerId = await handlerWorkflow('repaired handler');
    const { id, waitRunId } = await waitingToFail('lost start', handlerId);

    // This worker commits the failure and dies before it starts the handler: the notice goes nowhere.
    const appDeps = (server.app.engine.executor as unknown as { deps: EngineDeps }).deps;
    const lost: string[] = [];
    const dying = new StepExecutor({
      ...appDeps,
      logger: pino({ level: 'silent' }),
      workerName: 'dying-worker',
      onInstanceFailed: async (notice) => {
        lost.push(notice.instanceId);
      },
    });
    await dying.execute(waitRunId);
    expect(lost).toEqual([id]);
    const failed = await instanceOf(id);
    expect(failed.status).toBe('FAILED');
    expect((await handlerRuns(handlerId)).totalCount).toBe(0);

    // Within the sweep grace the failing worker may still be starting it: the sweep leaves it.
    const { sweeper } = server.app.engine;
    await sweeper.sweep();
    expect((await handlerRuns(handlerId)).totalCount).toBe(0);

    // After it, two sweeps at once (two workers) start one run, with the key the worker would have used.
    await failedLongAgo(id);
    await Promise.all([sweeper.sweep(), sweeper.sweep()]);
    const repaired = await handlerRuns(handlerId);
    expect(repaired.totalCount).toBe(1);
    expect(repaired.edges[0]!.node).toMatchObject({
      idempotencySource: 'FAILURE_HANDLER',
      idempotencyKey: `${id}:${failed.eventSeq}`,
      input: { instanceId: id, stepId: 'call', attempt: 1, reason: `HTTP 500 from ${new URL(remoteUrl).host}` },
    });
    // A later pass finds the run and starts nothing more.
    await sweeper.sweep();
    expect((await handlerRuns(handlerId)).totalCount).toBe(1);
  });

  test('a failure whose handler the worker started gets no second run from the sweep', async () => {
    const handlerId = await handlerWorkflow('started handler');
    const { id, waitRunId } = await waitingToFail('normal start', handlerId);
    const appDeps = (server.app.engine.executor as unknown as { deps: EngineDeps }).deps;
    await new StepExecutor({ ...appDeps, logger: pino({ level: 'silent' }), workerName: 'healthy-worker' }).execute(waitRunId);
    expect((await instanceOf(id)).status).toBe('FAILED');
    // execute() returns once the handler's start has committed.
    expect((await handlerRuns(handlerId)).totalCount).toBe(1);

    await failedLongAgo(id);
    await server.app.engine.sweeper.sweep();
    expect((await handlerRuns(handlerId)).totalCount).toBe(1);
  });
});
