import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ScheduleRepository } from '../../src/persistence/schedule.repository.js';
import {
  AddStepDocument,
  ApplyEditsDocument,
  ArchiveWorkflowDocument,
  CreateWorkflowDocument,
  PublishWorkflowDocument,
  UpdateStepDocument,
  WorkflowScheduleDocument,
  type EditInput,
} from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { GraphQLClient, startTestServer, type TestServer } from '../support/test-server.js';
import { ControlledClock } from '../fixtures/controlled-clock.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

/**
 * Schedule triggers through GraphQL, on the time the server computes schedules with set by the
 * test (the engine's own clock stays real): saving refuses bad schedules by field, a tick due by
 * that time starts one instance carrying the tick, ticks missed during downtime follow the
 * workflow's policy, and publishing, republishing and archiving move or remove the schedule at
 * once. A database of its own, so that no other file's workers fire these schedules.
 */
const clock = new ControlledClock('2026-03-28T12:00:00Z');
let server: TestServer;
let client: GraphQLClient;
let isolated: Awaited<ReturnType<typeof isolatedDatabase>>;

beforeAll(async () => {
  isolated = await isolatedDatabase();
  server = await startTestServer({ env: { ...isolated.env, SCHEDULER_POLL_MS: '50' }, scheduleClock: clock });
  client = server.client;
});
/** The embedded data directory the server was restarted on, which its stop leaves behind. */
let restartedOn: string | undefined;
afterAll(async () => {
  await server?.stop();
  await isolated?.drop();
  if (restartedOn) rmSync(restartedOn, { recursive: true, force: true });
});

interface Run {
  id: string;
  version: number;
  input: { tickAt: string; localTime: string; timeZone: string; firedAt: string; missed: { from: string; until: string } | null };
  idempotencyKey: string | null;
  idempotencySource: string | null;
}
const RUNS = `query($id: ID!) { workflowInstances(workflowId: $id, first: 100) { edges { node { id version input idempotencyKey idempotencySource } } } }`;
const runsOf = async (workflowId: string): Promise<Run[]> =>
  (await client.request<{ workflowInstances: { edges: { node: Run }[] } }, { id: string }>(RUNS, { id: workflowId })).workflowInstances.edges
    .map((e) => e.node)
    .sort((a, b) => a.input.tickAt.localeCompare(b.input.tickAt));
const scheduleOf = async (workflowId: string) => (await client.request(WorkflowScheduleDocument, { id: workflowId })).workflow.schedule;

const scheduleStep = (config: Record<string, unknown>): EditInput => ({ addStep: { id: 'tick', type: 'trigger.schedule', name: 'Every so often', config } });
const smsAfter = (from: string): EditInput => ({
  addStep: { id: 'sms', type: 'sms.send', name: 'Report', config: { to: '+15550100', text: 'tick {{trigger.localTime}}' }, after: { stepId: from, port: 'next' } },
});

async function publishSchedule(name: string, config: Record<string, unknown>): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits: [scheduleStep(config), smsAfter('tick')] });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

describe('bad schedules are refused when the step is saved, naming the field, and nothing is written', () => {
  test.each([
    [{ cron: 'every day at nine' }, 'config.cron', /5 fields/],
    [{ cron: '0 25 * * *' }, 'config.cron', /Invalid cron expression/],
    [{ cron: '0 0 31 2 *' }, 'config.cron', /never fires/],
    // The default minimum is one minute.
    [{ cron: '*/10 * * * * *' }, 'config.cron', /every 10 s .*at most one tick per 1 min/],
    [{ every: { amount: 30, unit: 'seconds' } }, 'config.every', /every 30 s/],
    [{ cron: '0 9 * * *', timeZone: 'Europe/Atlantis' }, 'config.timeZone', /Unknown time zone 'Europe\/Atlantis'/],
    [{ cron: '0 9 * * *', every: { amount: 1, unit: 'hours' } }, 'config.every', /exactly one of cron or every/],
    [{ cron: '0 9 * * *', missedTicks: 'always' }, 'config.missedTicks', /./],
  ])('%j → %s', async (config, field, message) => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'bad schedule' } });
    const error = await client.expectError(AddStepDocument, {
      workflowId: createWorkflow.id,
      input: { id: 'tick', type: 'trigger.schedule', name: 'Tick', config },
    });
    expect({ code: error.extensions?.code, field: error.extensions?.field }).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(error.message).toMatch(message);
    const { workflow } = await client.request<{ workflow: { draftRevision: number; stepCount: number } }, { id: string }>(
      'query($id: ID!) { workflow(id: $id) { draftRevision stepCount } }',
      { id: createWorkflow.id },
    );
    expect(workflow).toEqual({ draftRevision: 0, stepCount: 0 });
  });

  test('an update to a bad schedule is refused the same way, and the step keeps its config', async () => {
    const workflowId = await publishSchedule('update to bad', { cron: '0 9 * * *' });
    const error = await client.expectError(UpdateStepDocument, { workflowId, input: { stepId: 'tick', config: { cron: '* * * * * *' } } });
    expect({ code: error.extensions?.code, field: error.extensions?.field }).toEqual({ code: 'BAD_USER_INPUT', field: 'config.cron' });
    const { workflow } = await client.request<{ workflow: { step: { config: unknown } } }, { id: string }>(
      'query($id: ID!) { workflow(id: $id) { step(id: "tick") { config } } }',
      { id: workflowId },
    );
    expect(workflow.step.config).toEqual({ cron: '0 9 * * *', timeZone: 'UTC', missedTicks: 'skip' });
  });
});

describe('ticks', () => {
  test('each tick due starts one instance carrying the tick, across a daylight-saving change', async () => {
    clock.set('2026-03-28T23:00:00Z'); // 00:00 in Berlin on the night the clocks go forward
    const workflowId = await publishSchedule('nightly', { cron: '30 2 * * *', timeZone: 'Europe/Berlin' });
    // 02:30 does not exist that night: it fires at 03:30 CEST, the same instant.
    expect(await scheduleOf(workflowId)).toEqual({ version: 1, triggerStepId: 'tick', nextTickAt: '2026-03-29T01:30:00.000Z', lastTickAt: null });
    expect(await runsOf(workflowId)).toEqual([]);

    clock.set('2026-03-29T01:30:00.400Z');
    const [first] = await waitFor(() => runsOf(workflowId), (runs) => runs.length === 1, { what: 'the first tick to start an instance' });
    expect(first).toMatchObject({
      version: 1,
      idempotencySource: 'SCHEDULE',
      idempotencyKey: '2026-03-29T01:30:00.000Z',
      input: { tickAt: '2026-03-29T01:30:00.000Z', localTime: '2026-03-29T03:30:00+02:00', timeZone: 'Europe/Berlin', missed: null },
    });
    await waitFor(() => scheduleOf(workflowId), (s) => s?.nextTickAt === '2026-03-30T00:30:00.000Z', { what: 'the schedule to move on' });
    expect((await scheduleOf(workflowId))?.lastTickAt).toBe('2026-03-29T01:30:00.000Z');

    clock.set('2026-03-30T00:30:05Z');
    const runs = await waitFor(() => runsOf(workflowId), (r) => r.length === 2, { what: 'the second tick' });
    expect(runs.map((r) => r.input.localTime)).toEqual(['2026-03-29T03:30:00+02:00', '2026-03-30T02:30:00+02:00']);
    await waitFor(() => scheduleOf(workflowId), (s) => s?.nextTickAt === '2026-03-31T00:30:00.000Z', { what: 'the schedule to move on' });
    expect(await runsOf(workflowId)).toHaveLength(2);
  });

  test('ticks missed while no worker ran: skip drops them, runOnce starts one instance for all of them', async () => {
    clock.set('2026-05-01T09:59:00Z');
    const skipping = await publishSchedule('hourly, skip', { cron: '0 * * * *', missedTicks: 'skip' });
    const catchingUp = await publishSchedule('hourly, run once', { cron: '0 * * * *', missedTicks: 'runOnce' });
    for (const id of [skipping, catchingUp]) expect((await scheduleOf(id))?.nextTickAt).toBe('2026-05-01T10:00:00.000Z');

    // 10:00 to 13:00 pass unseen: the next thing the workers see is 13:30.
    clock.set('2026-05-01T13:30:00Z');
    for (const id of [skipping, catchingUp]) {
      await waitFor(() => scheduleOf(id), (s) => s?.nextTickAt === '2026-05-01T14:00:00.000Z', { what: 'the schedule to move past the missed ticks' });
    }
    expect(await runsOf(skipping)).toEqual([]);
    const [once, ...more] = await runsOf(catchingUp);
    expect(more).toEqual([]);
    expect(once).toMatchObject({
      idempotencyKey: '2026-05-01T10:00:00.000Z',
      input: { tickAt: '2026-05-01T10:00:00.000Z', missed: { from: '2026-05-01T10:00:00.000Z', until: '2026-05-01T13:00:00.000Z' } },
    });
    expect((await scheduleOf(catchingUp))?.lastTickAt).toBe('2026-05-01T13:00:00.000Z');

    // Back to normal: the 14:00 tick fires on time under both policies.
    clock.set('2026-05-01T14:00:01Z');
    await waitFor(() => runsOf(skipping), (r) => r.length === 1, { what: 'the skipping schedule to fire again' });
    await waitFor(() => runsOf(catchingUp), (r) => r.length === 2, { what: 'the run-once schedule to fire again' });
  });
});

describe('a tick fired twice starts one instance', () => {
  test('a worker that died after starting a tick, before moving the schedule on: the tick fires again once its claim runs out, and finds that instance', async () => {
    clock.set('2026-07-01T08:59:00Z');
    const workflowId = await publishSchedule('died mid-fire', { cron: '0 9 * * *' });
    const tick = '2026-07-01T09:00:00.000Z';
    // The dead worker's part: it claimed the due tick for 10 s and started its instance.
    const schedules = new ScheduleRepository(server.app.database.db);
    const claimed = await schedules.claimDue({ now: new Date(tick), limit: 100, claimMs: 10_000, owner: 'dead worker' });
    expect(claimed.map((c) => c.workflowId)).toContain(workflowId);
    const { instance } = await server.app.engine.runner.start(
      { workspaceId: server.workspaceId },
      { workflowId, version: 1, input: { tickAt: tick, firedBy: 'dead worker' }, idempotency: { source: 'schedule', key: tick } },
    );

    // While the claim holds, the live worker leaves the tick alone (and fires another schedule's).
    const other = await publishSchedule('due meanwhile', { cron: '5 0 9 * * *' });
    clock.set('2026-07-01T09:00:05.500Z');
    await waitFor(() => runsOf(other), (r) => r.length === 1, { what: 'the other schedule to fire' });
    expect(await scheduleOf(workflowId)).toMatchObject({ nextTickAt: tick, lastTickAt: null });
    // Its claim runs out at 09:00:10; the live worker then fires the tick again, late but on time.
    clock.set('2026-07-01T09:00:11Z');
    await waitFor(() => scheduleOf(workflowId), (s) => s?.nextTickAt === '2026-07-02T09:00:00.000Z', { what: 'the tick to be fired again' });
    const runs = await runsOf(workflowId);
    expect(runs.map((r) => ({ id: r.id, key: r.idempotencyKey, input: r.input }))).toEqual([
      { id: instance.id, key: tick, input: { tickAt: tick, firedBy: 'dead worker' } },
    ]);
  });
});

describe('publishing, republishing and archiving move the schedule at once', () => {
  test('a new version reschedules: its ticks start that version', async () => {
    clock.set('2026-06-01T08:00:00Z');
    const workflowId = await publishSchedule('republished', { cron: '0 12 * * *' });
    expect(await scheduleOf(workflowId)).toMatchObject({ version: 1, nextTickAt: '2026-06-01T12:00:00.000Z' });

    await client.request(UpdateStepDocument, { workflowId, input: { stepId: 'tick', config: { cron: '0 9 * * *' } } });
    expect(await scheduleOf(workflowId)).toMatchObject({ version: 1 }); // an edit of the draft changes nothing
    await client.request(PublishWorkflowDocument, { workflowId });
    expect(await scheduleOf(workflowId)).toMatchObject({ version: 2, nextTickAt: '2026-06-01T09:00:00.000Z' });

    clock.set('2026-06-01T09:00:00.200Z');
    const [run] = await waitFor(() => runsOf(workflowId), (r) => r.length === 1, { what: 'the new version to fire' });
    expect(run).toMatchObject({ version: 2, input: { tickAt: '2026-06-01T09:00:00.000Z' } });
  });

  test('publishing a version whose trigger is not a schedule removes the schedule', async () => {
    clock.set('2026-06-02T08:00:00Z');
    const workflowId = await publishSchedule('no longer scheduled', { cron: '0 12 * * *' });
    expect(await scheduleOf(workflowId)).not.toBeNull();
    await client.request(ApplyEditsDocument, {
      workflowId,
      edits: [
        { disconnectSteps: { from: 'tick', port: 'next' } },
        { removeStep: { stepId: 'tick' } },
        { addStep: { id: 'manual', type: 'trigger.manual', name: 'By hand' } },
        { connectSteps: { from: 'manual', port: 'next', to: 'sms' } },
      ],
    });
    await client.request(PublishWorkflowDocument, { workflowId });
    expect(await scheduleOf(workflowId)).toBeNull();
  });

  test('archiving removes the schedule: its tick starts nothing, while a live schedule of the same tick fires', async () => {
    clock.set('2026-06-03T08:00:00Z');
    const archived = await publishSchedule('archived', { cron: '0 10 * * *' });
    const live = await publishSchedule('still live', { cron: '0 10 * * *' });
    await client.request(ArchiveWorkflowDocument, { workflowId: archived });
    expect(await scheduleOf(archived)).toBeNull();

    clock.set('2026-06-03T10:00:00.300Z');
    await waitFor(() => scheduleOf(live), (s) => s?.nextTickAt === '2026-06-04T10:00:00.000Z', { what: 'the live schedule to fire' });
    expect(await runsOf(live)).toHaveLength(1);
    expect(await runsOf(archived)).toEqual([]);
  });
});

describe('a stricter minimum than the one a draft was saved under', () => {
  test('publishWorkflow fails with VALIDATION_FAILED naming the field; nothing is published or scheduled', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'saved under a looser minimum' } });
    const workflowId = createWorkflow.id;
    await client.request(ApplyEditsDocument, { workflowId, edits: [scheduleStep({ every: { amount: 2, unit: 'minutes' } }), smsAfter('tick')] });

    // The same data, served with a minimum of ten minutes.
    const dataDir = server.config.DATABASE_URL ? undefined : server.config.DATA_DIR;
    const key = server.apiKey;
    await server.stop({ keepData: true });
    restartedOn = dataDir;
    server = await startTestServer({
      env: { ...isolated.env, SCHEDULER_POLL_MS: '50', SCHEDULE_MIN_INTERVAL_MS: '600000' },
      scheduleClock: clock,
      ...(dataDir ? { dataDir } : {}),
    });
    client = new GraphQLClient(server.url, key);
    const error = await client.expectError(PublishWorkflowDocument, { workflowId });
    expect(error.extensions?.code).toBe('VALIDATION_FAILED');
    expect(error.extensions?.problems).toEqual([
      expect.objectContaining({ code: 'INVALID_CONFIG', stepId: 'tick', message: expect.stringMatching(/config\.every: The schedule fires every 2 min at times; this server allows at most one tick per 10 min/) }),
    ]);
    const { workflow } = await client.request<{ workflow: { latestVersion: number | null; schedule: unknown } }, { id: string }>(
      'query($id: ID!) { workflow(id: $id) { latestVersion schedule { nextTickAt } } }',
      { id: workflowId },
    );
    expect(workflow).toEqual({ latestVersion: null, schedule: null });
  });
});
