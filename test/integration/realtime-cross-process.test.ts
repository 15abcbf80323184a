import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstanceUpdatedDocument,
  PublishWorkflowDocument,
  StartWorkflowDocument,
  WorkflowInstanceEventsDocument,
} from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { buildServer, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { GraphQLClient, schedulerTable, startTestServer, testDatabaseUrl } from '../support/test-server.js';
import { collect, wsClient } from '../support/ws-client.js';
import { untilLive } from '../fixtures/live-marker.js';

const url = testDatabaseUrl();

// Two processes cannot share the embedded database (its directory is locked to one process), so
// this runs on real Postgres only, where the bus is LISTEN/NOTIFY.
describe.skipIf(!url)('two processes: an API-only server and a worker-only server (real Postgres only)', () => {
  let api: ServerProcess;
  let worker: ServerProcess;
  let apiKey: string;
  let workflowId: string;

  beforeAll(async () => {
    buildServer();
    const setup = await startTestServer({ env: { ROLE: 'api' } });
    apiKey = setup.apiKey;
    const { createWorkflow } = await setup.client.request(CreateWorkflowDocument, { input: { name: 'Split roles' } });
    workflowId = createWorkflow.id;
    await setup.client.request(ApplyEditsDocument, {
      workflowId,
      edits: [
        { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1', text: 'hi' }, after: { stepId: 't', port: 'next' } } },
        { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 1, unit: 'seconds' } }, after: { stepId: 'sms', port: 'next' } } },
      ],
    });
    await setup.client.request(PublishWorkflowDocument, { workflowId });
    await setup.stop();
    const env = { DATABASE_URL: url!, SCHEDULER_TABLE: schedulerTable };
    [api, worker] = await Promise.all([startServerProcess({ ...env, ROLE: 'api' }), startServerProcess({ ...env, ROLE: 'worker' })]);
  }, 60_000);

  afterAll(async () => {
    await api?.kill();
    await worker?.kill();
  });

  test('a client on the API process sees every transition the worker process commits, in order', async () => {
    const client = new GraphQLClient(api.url, apiKey);
    const ws = wsClient(api.url, apiKey);
    try {
      const live = collect(ws, WorkflowInstanceEventsDocument, { workflowId });
      // Live once a marker run's events reached it; only the runs started after are checked.
      await untilLive(
        async () => (await client.request(StartWorkflowDocument, { workflowId, input: { marker: true } })).startWorkflow.instance.id,
        (marker) => live.items.some((i) => i.workflowInstanceEvents.event.instanceId === marker),
      );
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await client.request(StartWorkflowDocument, { workflowId, input: {} })).startWorkflow.instance.id);
      const done = await Promise.all(
        ids.map((id) =>
          waitFor(async () => (await client.request(InstanceDocument, { id })).workflowInstance, (i) => i.status === 'COMPLETED', {
            what: 'the worker process to complete the run',
          }),
        ),
      );
      const expected = done.flatMap((d) => d.events.map((e) => `${d.id}#${e.seq}`));
      const ours = () => live.items.filter((i) => ids.includes(i.workflowInstanceEvents.event.instanceId));
      await waitFor(async () => ours().length, (n) => n >= expected.length, { what: 'every event on the API process' });
      const got = ours().map((i) => `${i.workflowInstanceEvents.event.instanceId}#${i.workflowInstanceEvents.event.seq}`);
      expect([...got].sort()).toEqual([...expected].sort());
      for (const id of ids) {
        const seqs = live.items.filter((i) => i.workflowInstanceEvents.event.instanceId === id).map((i) => i.workflowInstanceEvents.event.seq);
        expect(seqs).toEqual(seqs.map((_, n) => n + 1));
      }
      // The worker ran the steps: the API process has no worker.
      expect(done.every((d) => d.status === 'COMPLETED')).toBe(true);
      live.stop();
    } finally {
      await ws.dispose();
    }
  });

  test("instanceUpdated on the API process stays open while the worker's run waits, and completes after it ends", async () => {
    const client = new GraphQLClient(api.url, apiKey);
    const ws = wsClient(api.url, apiKey);
    try {
      const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
      const id = startWorkflow.instance.id;
      // From the start on: the worker's transitions reach this process through the bus, the
      // delay's wait and resume included; the end of the run ends the subscription.
      const live = collect(ws, InstanceUpdatedDocument, { instanceId: id, since: 0 });
      expect(await live.ended).toBe('complete');
      const done = (await client.request(InstanceDocument, { id })).workflowInstance;
      expect(done.status).toBe('COMPLETED');
      expect(live.items.map((i) => i.instanceUpdated.seq)).toEqual(done.events.map((e) => e.seq));
      const story = live.items.map(({ instanceUpdated: { event } }) => `${event.entity} ${event.event}`);
      expect(story).toContain('INSTANCE wait');
      expect(story).toContain('INSTANCE resume');
      expect(story.at(-1)).toBe('INSTANCE complete');
    } finally {
      await ws.dispose();
    }
  });

  test('SIGTERM stops both processes cleanly', async () => {
    expect(await api.kill('SIGTERM')).toBe(0);
    expect(await worker.kill('SIGTERM')).toBe(0);
  });
});
