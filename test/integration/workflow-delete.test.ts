import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { RunCommandRepository } from '../../src/persistence/run-command.repository.js';
import { ScheduleRepository } from '../../src/persistence/schedule.repository.js';
import {
  AddStepDocument,
  ApplyEditsDocument,
  ArchiveWorkflowDocument,
  CancelInstanceDocument,
  CreateWebhookDocument,
  CreateWorkflowDocument,
  DeleteWorkflowDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  SendEventDocument,
  StartWorkflowDocument,
  UndoDocument,
  UpdateWorkflowDocument,
  WorkflowDocument,
  WorkflowEditedDocument,
  WorkflowScheduleDocument,
  type EditInput,
} from '../../src/sdk/operations.generated.js';
import { untilLive } from '../fixtures/live-marker.js';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import { collect, wsClient } from '../support/ws-client.js';
import { ControlledClock } from '../fixtures/controlled-clock.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

/**
 * deleteWorkflow through GraphQL: the workflow goes with everything that is only its, in one
 * transaction, and nothing of it acts afterwards — no schedule tick, no step of a run that was in
 * progress, no undo or edit, no webhook call. Refused while runs are in progress (unless `force`
 * cancels them) and while another workflow would start it as its failure handler. A database of
 * its own: schedules are claimed deployment-wide, and the leftovers are counted table by table.
 */
const clock = new ControlledClock('2026-09-01T08:00:00Z');
let server: TestServer;
let client: GraphQLClient;
let isolated: Awaited<ReturnType<typeof isolatedDatabase>>;

beforeAll(async () => {
  isolated = await isolatedDatabase();
  server = await startTestServer({ env: { ...isolated.env, SCHEDULER_POLL_MS: '50' }, scheduleClock: clock });
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
  await isolated?.drop();
});

const sms = (id: string, after: { stepId: string; port: string }): EditInput => ({
  addStep: { id, type: 'sms.send', name: `SMS ${id}`, config: { to: '+15550100', text: `from ${id}` }, after },
});
/** manual → wait for `order.paid` (key from the input) → SMS. */
const waitingFlow: EditInput[] = [
  { addStep: { id: 'start', type: 'trigger.manual', name: 'Start' } },
  {
    addStep: {
      id: 'paid',
      type: 'wait.forEvent',
      name: 'Wait for the payment',
      after: { stepId: 'start', port: 'next' },
      config: { event: 'order.paid', key: 'order-{{trigger.order}}', timeout: { amount: 1, unit: 'hours' } },
    },
  },
  sms('thanks', { stepId: 'paid', port: 'received' }),
  sms('remind', { stepId: 'paid', port: 'timedOut' }),
];
const manualFlow: EditInput[] = [{ addStep: { id: 'start', type: 'trigger.manual', name: 'Start' } }, sms('page', { stepId: 'start', port: 'next' })];

async function published(name: string, edits: EditInput[]): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const instance = async (id: string) => (await client.request(InstanceDocument, { id })).workflowInstance;
const untilStatus = (id: string, status: string) => waitFor(() => instance(id), (i) => i.status === status, { what: `instance ${id} to be ${status}` });

/** Rows of every table that holds something of the workflow, its instances or their step runs. */
async function rowsOf(workflowId: string, instanceIds: readonly string[], stepRunIds: readonly string[]): Promise<Record<string, number>> {
  const sql = server.app.database.sql;
  const none = ['00000000-0000-0000-0000-000000000000'];
  const instances = instanceIds.length > 0 ? instanceIds : none;
  const stepRuns = stepRunIds.length > 0 ? stepRunIds : none;
  const [row] = await sql<Record<string, number>[]>`
    select
      (select count(*)::int from workflows where id = ${workflowId}) as workflows,
      (select count(*)::int from workflow_steps where workflow_id = ${workflowId}) as steps,
      (select count(*)::int from workflow_edges where workflow_id = ${workflowId}) as edges,
      (select count(*)::int from workflow_history where workflow_id = ${workflowId}) as history,
      (select count(*)::int from workflow_versions where workflow_id = ${workflowId}) as versions,
      (select count(*)::int from workflow_schedules where workflow_id = ${workflowId}) as schedules,
      (select count(*)::int from workflow_triggers where workflow_id = ${workflowId}) as triggers,
      (select count(*)::int from webhook_endpoints where workflow_id = ${workflowId}) as webhooks,
      (select count(*)::int from workflow_instances where workflow_id = ${workflowId} or id in ${sql(instances)}) as instances,
      (select count(*)::int from step_runs where instance_id in ${sql(instances)} or id in ${sql(stepRuns)}) as "stepRuns",
      (select count(*)::int from step_waits where step_run_id in ${sql(stepRuns)}) as waits,
      (select count(*)::int from instance_events where workflow_id = ${workflowId} or instance_id in ${sql(instances)}) as events,
      (select count(*)::int from outbound_messages where instance_id in ${sql(instances)}) as messages`;
  return row!;
}
const nothing = { workflows: 0, steps: 0, edges: 0, history: 0, versions: 0, schedules: 0, triggers: 0, webhooks: 0, instances: 0, stepRuns: 0, waits: 0, events: 0, messages: 0 };

describe('deleting a workflow', () => {
  test('removes it and everything that is only its, in one go; it can no longer be read, edited, undone or called', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'To delete' } });
    const workflowId = createWorkflow.id;
    await client.request(ApplyEditsDocument, {
      workflowId,
      edits: [{ addStep: { id: 'hook', type: 'trigger.webhook', name: 'Called' } }, sms('sms', { stepId: 'hook', port: 'next' })],
    });
    await client.request(AddStepDocument, { workflowId, input: { id: 'loose', type: 'end', name: 'Loose end' } });
    await client.request(UndoDocument, { workflowId }); // something to redo, too
    await client.request(PublishWorkflowDocument, { workflowId });
    const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId });
    const hookUrl = `${new URL(server.url).origin}/hooks/${createWebhook.token}`;
    const called = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    expect(called.status).toBe(202);
    const { instanceId } = (await called.json()) as { instanceId: string };
    const done = await untilStatus(instanceId, 'COMPLETED');
    const stepRunIds = done.stepRuns.map((s) => s.id);
    // A sibling in the same workspace, which must be left as it is.
    const sibling = await published('Sibling', manualFlow);

    const before = await rowsOf(workflowId, [instanceId], stepRunIds);
    expect(before).toMatchObject({ workflows: 1, steps: 2, edges: 1, history: 2, versions: 1, webhooks: 1, instances: 1, stepRuns: 2, messages: 1 });
    expect(before.events).toBeGreaterThan(0);

    const { deleteWorkflow } = await client.request(DeleteWorkflowDocument, { id: workflowId });
    expect(deleteWorkflow).toEqual({ id: workflowId, name: 'To delete', cancelledInstances: 0, deletedInstances: 1 });
    expect(await rowsOf(workflowId, [instanceId], stepRunIds)).toEqual(nothing);

    const refusals = [
      await client.expectError(WorkflowDocument, { id: workflowId, first: 5 }),
      await client.expectError(UndoDocument, { workflowId }),
      await client.expectError(AddStepDocument, { workflowId, input: { type: 'end', name: 'X' } }),
      await client.expectError(UpdateWorkflowDocument, { id: workflowId, input: { name: 'Back' } }),
      await client.expectError(PublishWorkflowDocument, { workflowId }),
      await client.expectError(StartWorkflowDocument, { workflowId, input: {} }),
      await client.expectError(InstanceDocument, { id: instanceId }),
      await client.expectError(DeleteWorkflowDocument, { id: workflowId }),
    ];
    for (const err of refusals) expect(err.extensions?.code).toBe('NOT_FOUND');
    expect((await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
    expect((await client.request(WorkflowDocument, { id: sibling, first: 5 })).workflow.steps.totalCount).toBe(2);
  });

  test('of another workspace, unknown or malformed, is NOT_FOUND and deletes nothing', async () => {
    const workflowId = await published('Not theirs', manualFlow);
    const intruder = await server.newWorkspace('intruder');
    const err = await intruder.client.expectError(DeleteWorkflowDocument, { id: workflowId, force: true });
    expect({ code: err.extensions?.code, id: err.extensions?.id }).toEqual({ code: 'NOT_FOUND', id: workflowId });
    expect(err.message).toBe(`Workflow '${workflowId}' was not found`);
    for (const id of ['not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
      expect((await client.expectError(DeleteWorkflowDocument, { id })).extensions?.code).toBe('NOT_FOUND');
    }
    expect((await rowsOf(workflowId, [], [])).workflows).toBe(1);
  });

  test('an instance that start read the workflow for before the deletion committed is NOT_FOUND, not a server error', async () => {
    const workflowId = await published('Deleted under a start', manualFlow);
    await client.request(DeleteWorkflowDocument, { id: workflowId });
    // What runner.start does after reading the workflow: the insert finds it gone.
    const runs = new RunCommandRepository(server.app.database.db, server.app.database.sql);
    await expect(
      runs.createInstance({
        id: crypto.randomUUID(),
        workspaceId: server.workspaceId,
        workflowId,
        version: 1,
        input: {},
        firstStep: { stepRunId: crypto.randomUUID(), stepId: 'start', stepType: 'trigger.manual' },
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('a deleted workflow\'s schedule goes at once', () => {
  const scheduled: EditInput[] = [
    { addStep: { id: 'tick', type: 'trigger.schedule', name: 'At ten', config: { cron: '0 10 * * *' } } },
    sms('report', { stepId: 'tick', port: 'next' }),
  ];
  const scheduleOf = async (workflowId: string) => (await client.request(WorkflowScheduleDocument, { id: workflowId })).workflow.schedule;

  test('its tick starts nothing, while a live schedule of the same tick fires', async () => {
    clock.set('2026-09-02T08:00:00Z');
    const deleted = await published('Scheduled, deleted', scheduled);
    const live = await published('Scheduled, live', scheduled);
    expect((await rowsOf(deleted, [], [])).schedules).toBe(1);
    await client.request(DeleteWorkflowDocument, { id: deleted });
    expect((await rowsOf(deleted, [], [])).schedules).toBe(0);

    clock.set('2026-09-02T10:00:00.300Z');
    await waitFor(() => scheduleOf(live), (s) => s?.nextTickAt === '2026-09-03T10:00:00.000Z', { what: 'the live schedule to fire' });
    expect((await rowsOf(live, [], [])).instances).toBe(1);
    expect(await rowsOf(deleted, [], [])).toEqual(nothing);
  });

  test('a tick a worker claimed before the deletion starts nothing after it, and cannot move the schedule on', async () => {
    clock.set('2026-09-04T09:59:00Z');
    const workflowId = await published('Claimed, then deleted', scheduled);
    const tick = new Date('2026-09-04T10:00:00.000Z');
    // A slow worker's part: it claimed the due tick, then the deletion committed before it fired.
    const schedules = new ScheduleRepository(server.app.database.db);
    const claimed = await schedules.claimDue({ now: tick, limit: 100, claimMs: 10_000, owner: 'slow worker' });
    expect(claimed.map((c) => c.workflowId)).toContain(workflowId);
    await client.request(DeleteWorkflowDocument, { id: workflowId });
    await expect(
      server.app.engine.runner.start(
        { workspaceId: server.workspaceId },
        { workflowId, version: 1, input: { tickAt: tick.toISOString() }, idempotency: { source: 'schedule', key: tick.toISOString() } },
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await schedules.advance({ workflowId, version: 1, from: tick, next: new Date('2026-09-05T10:00:00Z'), firedTick: tick })).toBe(false);
    expect(await rowsOf(workflowId, [], [])).toEqual(nothing);
  });
});

describe('runs in progress', () => {
  test('refuse the deletion, naming how many; force cancels them, deletes them, and no step of theirs runs afterwards', async () => {
    const workflowId = await published('With a waiting run', waitingFlow);
    const finished = (await client.request(StartWorkflowDocument, { workflowId, input: { order: 'F-1' } })).startWorkflow.instance.id;
    await untilStatus(finished, 'WAITING');
    await client.request(SendEventDocument, { name: 'order.paid', key: 'order-F-1', payload: { amount: 1 } });
    await untilStatus(finished, 'COMPLETED');
    const waiting = (await client.request(StartWorkflowDocument, { workflowId, input: { order: 'W-1' } })).startWorkflow.instance.id;
    const parked = await untilStatus(waiting, 'WAITING');
    const waitRun = parked.stepRuns.find((s) => s.stepId === 'paid')!;
    expect(waitRun.status).toBe('SCHEDULED');
    const stepRunIds = [...parked.stepRuns.map((s) => s.id), ...(await instance(finished)).stepRuns.map((s) => s.id)];

    const refused = await client.expectError(DeleteWorkflowDocument, { id: workflowId });
    expect(refused.extensions).toMatchObject({ code: 'INVALID_STATE', activeInstances: 1 });
    expect(refused.message).toMatch(/1 instance in progress .*force: true/);
    // Nothing changed: the run still waits, with its wait registered.
    expect((await instance(waiting)).status).toBe('WAITING');
    expect(await rowsOf(workflowId, [waiting, finished], stepRunIds)).toMatchObject({ workflows: 1, instances: 2, waits: 1 });

    const execute = vi.spyOn(server.app.engine.executor, 'execute');
    try {
      const { deleteWorkflow } = await client.request(DeleteWorkflowDocument, { id: workflowId, force: true });
      expect(deleteWorkflow).toEqual({ id: workflowId, name: 'With a waiting run', cancelledInstances: 1, deletedInstances: 2 });
      expect(await rowsOf(workflowId, [waiting, finished], stepRunIds)).toEqual(nothing);
      expect((await client.expectError(InstanceDocument, { id: waiting })).extensions?.code).toBe('NOT_FOUND');
      // The event it waited for resumes nothing now: it is kept, as for any event nobody waits for.
      const { sendEvent } = await client.request(SendEventDocument, { name: 'order.paid', key: 'order-W-1', payload: { amount: 2 } });
      expect(sendEvent.resumedInstanceIds).toEqual([]);

      // A job that still fires for the deleted step run (one enqueued by a start that raced the
      // cancel) runs nothing and ends without an error.
      await server.app.scheduler.enqueue(waitRun.id);
      await waitFor(async () => execute.mock.calls.findIndex(([id]) => id === waitRun.id), (i) => i >= 0, { what: 'the stale job to be delivered' });
      const call = execute.mock.calls.findIndex(([id]) => id === waitRun.id);
      await expect(execute.mock.results[call]!.value).resolves.toBeUndefined();
      expect(await rowsOf(workflowId, [waiting, finished], stepRunIds)).toEqual(nothing);
    } finally {
      execute.mockRestore();
    }
  });

  test('force on a workflow without runs in progress cancels nothing', async () => {
    const workflowId = await published('Idle', manualFlow);
    const { deleteWorkflow } = await client.request(DeleteWorkflowDocument, { id: workflowId, force: true });
    expect(deleteWorkflow).toMatchObject({ cancelledInstances: 0, deletedInstances: 0 });
  });
});

describe('failure handlers', () => {
  test('a workflow another would still start as its failure handler is refused, naming it, until nothing would', async () => {
    const handler = await published('Tell ops', manualFlow);
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Handled flow' } });
    const flow = createWorkflow.id;
    await client.request(ApplyEditsDocument, { workflowId: flow, edits: [...waitingFlow, { updateWorkflow: { failureHandlerWorkflowId: handler } }] });
    await client.request(PublishWorkflowDocument, { workflowId: flow });
    const run = (await client.request(StartWorkflowDocument, { workflowId: flow, input: { order: 'H-1' } })).startWorkflow.instance.id;
    await untilStatus(run, 'WAITING');
    // An archived workflow whose draft still names it would start nothing: it does not count.
    const { createWorkflow: old } = await client.request(CreateWorkflowDocument, { input: { name: 'Archived user' } });
    await client.request(UpdateWorkflowDocument, { id: old.id, input: { failureHandlerWorkflowId: handler } });
    await client.request(ArchiveWorkflowDocument, { workflowId: old.id });

    const refusedBy = async () => {
      const err = await client.expectError(DeleteWorkflowDocument, { id: handler, force: true });
      expect(err.extensions?.code).toBe('INVALID_STATE');
      expect(err.message).toContain(`'Handled flow' (${flow})`);
      return err.extensions?.referencedBy;
    };
    // The draft and the newest version name it.
    expect(await refusedBy()).toEqual([{ id: flow, name: 'Handled flow' }]);
    // Not the draft any more, but the newest version does.
    await client.request(UpdateWorkflowDocument, { id: flow, input: { failureHandlerWorkflowId: null } });
    expect(await refusedBy()).toEqual([{ id: flow, name: 'Handled flow' }]);
    // A version without it: the run in progress of version 1 would still start it if it failed.
    await client.request(PublishWorkflowDocument, { workflowId: flow });
    expect(await refusedBy()).toEqual([{ id: flow, name: 'Handled flow' }]);
    expect((await rowsOf(handler, [], [])).workflows).toBe(1);

    await client.request(CancelInstanceDocument, { id: run });
    const { deleteWorkflow } = await client.request(DeleteWorkflowDocument, { id: handler });
    expect(deleteWorkflow.id).toBe(handler);
    // The flow itself is untouched.
    expect((await client.request(WorkflowDocument, { id: flow, first: 5 })).workflow).toMatchObject({ latestVersion: 2, failureHandlerWorkflowId: null });
  });
});

describe('subscriptions', () => {
  test('workflowEdited tells editors of the deletion, then completes', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Watched' } });
    const workflowId = createWorkflow.id;
    const ws = wsClient(server.url, server.apiKey);
    try {
      const seen = collect(ws, WorkflowEditedDocument, { workflowId });
      await untilLive(
        async () => {
          const { applyEdits } = await client.request(ApplyEditsDocument, { workflowId, edits: [{ updateWorkflow: { description: `marker ${Date.now()}` } }] });
          return String(applyEdits.workflow.draftRevision);
        },
        (marker) => seen.items.some((i) => String(i.workflowEdited.draftRevision) === marker),
      );
      const revision = (await client.request(WorkflowDocument, { id: workflowId, first: 1 })).workflow.draftRevision;
      await client.request(DeleteWorkflowDocument, { id: workflowId });
      expect(await seen.ended).toBe('complete');
      expect(seen.items.at(-1)?.workflowEdited).toMatchObject({ workflowId, change: 'DELETE', label: 'Deleted the workflow', draftRevision: revision });
      expect(seen.errors).toEqual([]);
    } finally {
      await ws.dispose();
    }
  });
});
