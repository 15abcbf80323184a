import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { StepExecutor } from '../../src/engine/step-executor.js';
import { Sweeper } from '../../src/engine/sweeper.js';
import type { StepRunRecord } from '../../src/ports/run-records.js';
import type { RunSweepStore } from '../../src/ports/run-sweep.store.port.js';
import { RunSweepRepository } from '../../src/persistence/run-sweep.repository.js';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  StartWorkflowDocument,
  type EditInput,
} from '../../src/sdk/operations.generated.js';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { FakeStepScheduler } from '../support/fake-step-scheduler.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Fencing, in one process: every write of an attempt names the fence its claim set, so a stale
 * copy, a second sweep or a worker that lost its lease can change nothing.
 */
let server: TestServer;
const receiver = new FakeHttpServer();
let receiverUrl: string;

beforeAll(async () => {
  receiverUrl = await receiver.start();
  server = await startTestServer({ env: { HTTP_ALLOW_PRIVATE_NETWORKS: 'true' } });
});
afterAll(async () => {
  await server?.stop();
  await receiver.stop();
});

async function publish(name: string, edits: EditInput[]): Promise<string> {
  const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name } });
  await server.client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await server.client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const instance = async (id: string) => (await server.client.request(InstanceDocument, { id })).workflowInstance;

const trigger: EditInput = { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } };
const after = (stepId: string) => ({ stepId, port: 'next' });

/** The app's engine, with another scheduler and sweep store where a test wants to steer them. */
function engineDeps(overrides: Partial<EngineDeps> = {}): EngineDeps {
  const deps = (server.app.engine.executor as unknown as { deps: EngineDeps }).deps;
  return { ...deps, logger: pino({ level: 'silent' }), ...overrides };
}

describe('fencing', () => {
  test('a stale copy of a step run cannot start it: a delay parked again by another worker does not resume early', async () => {
    const workflowId = await publish('stale copy', [
      trigger,
      { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 30, unit: 'seconds' } }, after: after('t') } },
      { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1555', text: 'hi' }, after: after('wait') } },
    ]);
    const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    const waiting = await waitFor(() => instance(id), (i) => i.status === 'WAITING', { what: 'WAITING' });
    const wait = waiting.stepRuns.find((r) => r.stepId === 'wait')!;

    // What another worker read before this one ran the delay's first attempt and parked it:
    // SCHEDULED, fence 0, due now. Its status matches the row's again; its fence does not.
    const deps = engineDeps();
    const current = (await deps.runs.loadForExecution(wait.id))!;
    const stale = { instance: { ...current.instance, status: 'RUNNING' as const }, stepRun: { ...current.stepRun, fence: 0, resumed: false, dueAt: new Date() } };
    const runs: EngineDeps['runs'] = {
      createInstance: (input) => deps.runs.createInstance(input),
      createInstances: (inputs) => deps.runs.createInstances(inputs),
      loadForExecution: async () => stale,
      commit: (change) => deps.runs.commit(change),
      extendLease: (lease) => deps.runs.extendLease(lease),
      outputsOf: (instanceId, stepIds) => deps.runs.outputsOf(instanceId, stepIds),
    };
    const executor = new StepExecutor({ ...deps, runs, workerName: 'stale-worker' });
    await executor.execute(wait.id);

    const now = await instance(id);
    expect(now.status).toBe('WAITING');
    expect(now.events.filter((e) => e.stepId === 'wait' && e.event === 'start')).toHaveLength(1);
    expect(now.stepRuns.find((r) => r.stepId === 'sms')).toBeUndefined();
  });

  test('of two sweeps that read the same expired lease, one hands it back; the other cannot take the new attempt away', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.respond = async () => {
      await held;
      return { status: 200, body: '{}', headers: { 'content-type': 'application/json' } };
    };
    const workflowId = await publish('sweep race', [
      trigger,
      { addStep: { id: 'call', type: 'http.request', name: 'Call', config: { method: 'POST', url: `${receiverUrl}/race`, body: 'x' }, after: after('t') } },
    ]);
    const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    try {
      const running = await waitFor(() => instance(id), (i) => i.stepRuns.some((r) => r.stepId === 'call' && r.status === 'RUNNING'), { what: 'the call running' });
      const callRunId = running.stepRuns.find((r) => r.stepId === 'call')!.id;
      const { database } = server.app;
      // The worker stops responding: its lease runs out.
      await database.sql`update step_runs set lease_until = now() - interval '1 second' where id = ${callRunId}`;

      const realSweep = new RunSweepRepository(database.db);
      const both: StepRunRecord[] = (await realSweep.expiredLeases({ limit: 10_000 })).filter((r) => r.id === callRunId);
      expect(both).toHaveLength(1);
      const scheduler = new FakeStepScheduler({ autoDeliver: false });
      const staleSweep: RunSweepStore = { claimOverdue: async () => [], expiredLeases: async () => both, unhandledFailures: async () => [] };
      const deps = engineDeps({ scheduler });

      // Sweep A hands the step back; a worker starts it again (fence 2).
      await new Sweeper({ deps, sweep: staleSweep, intervalMs: 60_000, graceMs: 60_000 }).sweep();
      expect(scheduler.pendingIds()).toEqual([callRunId]);
      await database.sql`
        update step_runs set status = 'RUNNING', fence = fence + 1, attempt = attempt + 1, lease_owner = 'worker-b',
          lease_until = now() + interval '1 minute' where id = ${callRunId} and status = 'RETRYING'`;

      // Sweep B acts on what it read before A did: the same lease, which is no longer the step's.
      const second = await new Sweeper({ deps, sweep: staleSweep, intervalMs: 60_000, graceMs: 60_000 }).sweep();
      expect(second.recovered).toBe(0);
      const [row] = await database.sql<{ status: string; fence: number; lost_count: number }[]>`
        select status, fence, lost_count from step_runs where id = ${callRunId}`;
      expect(row).toMatchObject({ status: 'RUNNING', fence: 2, lost_count: 1 });
      const loses = (await instance(id)).events.filter((e) => e.stepId === 'call' && e.event === 'lose');
      expect(loses).toHaveLength(1);
    } finally {
      release();
      receiver.respond = () => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });
    }
  });

  test('a step whose next step is due now is claimed by the same commit: no job between them', async () => {
    const workflowId = await publish('chain', [
      trigger,
      { addStep: { id: 'a', type: 'sms.send', name: 'A', config: { to: '+1555', text: 'a' }, after: after('t') } },
      { addStep: { id: 'b', type: 'sms.send', name: 'B', config: { to: '+1555', text: 'b' }, after: after('a') } },
      { addStep: { id: 'c', type: 'sms.send', name: 'C', config: { to: '+1555', text: 'c' }, after: after('b') } },
    ]);
    const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    const done = await waitFor(() => instance(id), (i) => i.status === 'COMPLETED', { what: 'COMPLETED' });
    expect(done.messages.edges).toHaveLength(3);
    const rows = await server.app.database.sql<{ step_id: string; event: string; xid: string; detail: { worker?: string } | null }[]>`
      select step_id, event, xid::text, detail from instance_events where instance_id = ${id} and entity = 'STEP' order by seq`;
    const xidOf = (stepId: string, event: string) => rows.find((r) => r.step_id === stepId && r.event === event)!.xid;
    for (const [from, to] of [['t', 'a'], ['a', 'b'], ['b', 'c']] as const) {
      expect(xidOf(to, 'schedule')).toBe(xidOf(from, 'succeed'));
      expect(xidOf(to, 'start')).toBe(xidOf(from, 'succeed'));
    }
    // Every start names the worker that took the lease.
    expect(new Set(rows.filter((r) => r.event === 'start').map((r) => r.detail?.worker))).toEqual(new Set([server.app.workerName]));
  });
});

describe('what remotes send back', () => {
  test('a response body with NUL bytes is stored as base64: the step succeeds, the call is made once, no worker is lost', async () => {
    const bytes = Buffer.from([0x68, 0x69, 0x00, 0xff, 0x00, 0x21]);
    receiver.received.length = 0;
    receiver.respond = () => ({ status: 200, body: bytes.toString('latin1'), headers: { 'content-type': 'application/octet-stream' } });
    try {
      const workflowId = await publish('nul answer', [
        trigger,
        { addStep: { id: 'call', type: 'http.request', name: 'Call', config: { method: 'POST', url: `${receiverUrl}/nul`, body: 'x' }, after: after('t') } },
        { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1555', text: 'got it' }, after: after('call') } },
      ]);
      const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
      const done = await waitFor(() => instance(startWorkflow.instance.id), (i) => ['COMPLETED', 'FAILED'].includes(i.status), { what: 'ended' });
      expect(done.status).toBe('COMPLETED');
      const output = done.stepRuns.find((r) => r.stepId === 'call')!.output as { body: string; bodyEncoding: string };
      expect(output.bodyEncoding).toBe('base64');
      expect(Buffer.from(output.body, 'base64').equals(Buffer.from(bytes.toString('latin1'), 'utf8'))).toBe(true);
      expect(receiver.received.filter((r) => r.url === '/nul')).toHaveLength(1);
      expect(done.events.filter((e) => e.event === 'lose')).toEqual([]);
    } finally {
      receiver.respond = () => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });
    }
  });

  test('a JSON answer whose strings spell NUL or a lone surrogate stays text, as sent', async () => {
    const text = '{"a":"x\\u0000y","b":"\\ud800"}';
    receiver.respond = () => ({ status: 200, body: text, headers: { 'content-type': 'application/json' } });
    try {
      const workflowId = await publish('nul json', [
        trigger,
        { addStep: { id: 'call', type: 'http.request', name: 'Call', config: { method: 'GET', url: `${receiverUrl}/json` }, after: after('t') } },
      ]);
      const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
      const done = await waitFor(() => instance(startWorkflow.instance.id), (i) => ['COMPLETED', 'FAILED'].includes(i.status), { what: 'ended' });
      expect(done.status).toBe('COMPLETED');
      expect(done.stepRuns.find((r) => r.stepId === 'call')!.output).toMatchObject({ body: text, bodyEncoding: 'utf8' });
    } finally {
      receiver.respond = () => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });
    }
  });
});
