import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import {
  AddStepDocument,
  ApplyEditsDocument,
  CancelInstanceDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstanceUpdatedDocument,
  PublishWorkflowDocument,
  RedoDocument,
  StartWorkflowDocument,
  UndoDocument,
  WorkflowEditedDocument,
  WorkflowInstanceEventBatchesDocument,
  WorkflowInstanceEventsDocument,
  type EditInput,
  type InstanceUpdatedSubscription,
  type WorkflowInstanceEventsSubscription,
} from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import { collect, wsClient, type Collector } from '../support/ws-client.js';
import { untilLive } from '../fixtures/live-marker.js';

let server: TestServer;
let client: GraphQLClient;
beforeAll(async () => {
  server = await startTestServer({ env: { WS_AUTH_TIMEOUT_MS: '500', MAX_SUBSCRIPTIONS_PER_SOCKET: '3', MAX_SOCKETS_PER_API_KEY: '3' } });
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
});

const shortFlow = (delaySeconds = 0): EditInput[] => [
  { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
  { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1', text: 'hi' }, after: { stepId: 't', port: 'next' } } },
  ...(delaySeconds
    ? [{ addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: delaySeconds, unit: 'seconds' } }, after: { stepId: 'sms', port: 'next' } } }]
    : []),
];

async function published(edits: EditInput[]): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Live' } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const finished = (id: string) =>
  waitFor(async () => (await client.request(InstanceDocument, { id })).workflowInstance, (i) => ['COMPLETED', 'FAILED'].includes(i.status), {
    what: 'instance to finish',
  });

type WfEvent = WorkflowInstanceEventsSubscription['workflowInstanceEvents'];
const key = (e: WfEvent) => `${e.event.instanceId}#${e.event.seq}`;

/** Starts a run of `workflowId` and answers its instance id (a marker for workflow streams). */
const startRun = async (workflowId: string): Promise<string> =>
  (await client.request(StartWorkflowDocument, { workflowId, input: { marker: true } })).startWorkflow.instance.id;

/** Whether a workflow-stream collector has received every event of a finished instance. */
const hasAllOf = (events: () => WfEvent[], instance: { id: string; events: readonly unknown[] }) =>
  events().filter((e) => e.event.instanceId === instance.id).length >= instance.events.length;
const singles = (c: Collector<WorkflowInstanceEventsSubscription>) => c.items.map((i) => i.workflowInstanceEvents);

describe('live status over graphql-ws', () => {
  test("every event of a run arrives in order, complete, on both the instance and the workflow stream", async () => {
    const workflowId = await published(shortFlow());
    const ws = wsClient(server.url, server.apiKey);
    try {
      const wf = collect(ws, WorkflowInstanceEventsDocument, { workflowId });
      // Live only (no `since`): the runs under test start once a marker run reached the subscription.
      await untilLive(() => startRun(workflowId), (marker) => singles(wf).some((e) => e.event.instanceId === marker));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await client.request(StartWorkflowDocument, { workflowId, input: { i } })).startWorkflow.instance.id);
      const done = await Promise.all(ids.map(finished));
      const expected = done.flatMap((d) => d.events.map((e) => `${d.id}#${e.seq}`));
      const ours = () => singles(wf).filter((e) => ids.includes(e.event.instanceId));
      await waitFor(async () => ours().length, (n) => n >= expected.length, { what: 'all workflow events' });
      const got = ours().map(key);
      expect([...got].sort()).toEqual([...expected].sort());
      expect(new Set(got).size).toBe(got.length);
      for (const id of ids) {
        const seqs = wf.items.filter((i) => i.workflowInstanceEvents.event.instanceId === id).map((i) => i.workflowInstanceEvents.event.seq);
        expect(seqs).toEqual(seqs.map((_, n) => n + 1));
      }

      const inst = collect(ws, InstanceUpdatedDocument, { instanceId: ids[0]!, since: 0 });
      await waitFor(async () => inst.items.length, (n) => n >= done[0]!.events.length, { what: 'instance replay' });
      expect(inst.items.map((i) => i.instanceUpdated.seq)).toEqual(done[0]!.events.map((e) => e.seq));
      expect(inst.items.at(-1)!.instanceUpdated.event.toStatus).toBe('COMPLETED');
      wf.stop();
      inst.stop();
    } finally {
      await ws.dispose();
    }
  });

  test('resuming with `since` after a disconnect during runs: no gap, no duplicate at the seam', async () => {
    const workflowId = await published(shortFlow(1));
    const first = wsClient(server.url, server.apiKey);
    const a = collect(first, WorkflowInstanceEventsDocument, { workflowId, since: '0' });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await client.request(StartWorkflowDocument, { workflowId, input: {} })).startWorkflow.instance.id);
    await waitFor(async () => a.items.length, (n) => n >= 8, { what: 'some events before the drop' });
    a.stop();
    await first.dispose();
    const seen = a.items.map((i) => i.workflowInstanceEvents);
    const resumeFrom = seen.at(-1)!.cursor;

    const second = wsClient(server.url, server.apiKey);
    try {
      const b = collect(second, WorkflowInstanceEventsDocument, { workflowId, since: resumeFrom });
      const done = await Promise.all(ids.map(finished));
      const total = done.reduce((n, d) => n + d.events.length, 0);
      await waitFor(async () => seen.length + b.items.length, (n) => n >= total, { what: 'the rest after resuming' });
      // A duplicate would come before the events of a run started now: once those are in, nothing more is due.
      const last = await finished(await startRun(workflowId));
      await waitFor(async () => hasAllOf(() => singles(b), last), Boolean, { what: 'the closing run' });
      const all = [...seen, ...singles(b)].filter((e) => e.event.instanceId !== last.id).map(key);
      expect(all).toHaveLength(total);
      expect(new Set(all).size).toBe(total);
      b.stop();
    } finally {
      await second.dispose();
    }
  });

  test('the batched workflow stream carries the same events in the same order, and its cursors resume it', async () => {
    const workflowId = await published(shortFlow());
    const ws = wsClient(server.url, server.apiKey);
    try {
      const single = collect(ws, WorkflowInstanceEventsDocument, { workflowId });
      const batched = collect(ws, WorkflowInstanceEventBatchesDocument, { workflowId });
      const flat = () => batched.items.flatMap((b) => b.workflowInstanceEventBatches.events);
      const markers: string[] = [];
      await untilLive(
        async () => {
          markers.push(await startRun(workflowId));
          return markers.at(-1)!;
        },
        (marker) => [flat(), singles(single)].every((events) => events.some((e) => e.event.instanceId === marker)),
      );
      const ids = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => (await client.request(StartWorkflowDocument, { workflowId, input: { i } })).startWorkflow.instance.id),
      );
      const done = await Promise.all(ids.map(finished));
      const total = done.reduce((n, d) => n + d.events.length, 0);
      // The marker runs reached the two streams from different moments on: compare the runs under test.
      const ours = (events: WfEvent[]) => events.filter((e) => ids.includes(e.event.instanceId));
      await waitFor(async () => Math.min(ours(flat()).length, ours(singles(single)).length), (n) => n >= total, { what: 'every event on both streams' });
      // A duplicate or a stray event would come before those of a run started now.
      const closing = await finished(await startRun(workflowId));
      await waitFor(async () => hasAllOf(flat, closing) && hasAllOf(() => singles(single), closing), Boolean, { what: 'the closing run on both streams' });
      // Same events, same order, same cursors; each batch's cursor is its last event's.
      expect(ours(flat()).map((e) => [key(e), e.cursor])).toEqual(ours(singles(single)).map((e) => [key(e), e.cursor]));
      expect(ours(flat())).toHaveLength(total);
      for (const b of batched.items) {
        expect(b.workflowInstanceEventBatches.events.length).toBeGreaterThan(0);
        expect(b.workflowInstanceEventBatches.cursor).toBe(b.workflowInstanceEventBatches.events.at(-1)!.cursor);
      }

      // Resuming from a batch's cursor replays exactly what came after that batch.
      const cut = Math.floor(batched.items.length / 2);
      const resumeFrom = batched.items[cut]!.workflowInstanceEventBatches.cursor;
      const expectedRest = batched.items.slice(cut + 1).flatMap((b) => b.workflowInstanceEventBatches.events.map(key));
      const resumed = collect(ws, WorkflowInstanceEventBatchesDocument, { workflowId, since: resumeFrom });
      const replayed = () => resumed.items.flatMap((b) => b.workflowInstanceEventBatches.events);
      await waitFor(async () => replayed().length, (n) => n >= expectedRest.length, { what: 'the replay after the cursor' });
      // Replay and live go on into a run started now: once it is in, anything extra would have come.
      const after = await finished(await startRun(workflowId));
      await waitFor(async () => hasAllOf(replayed, after), Boolean, { what: 'the run after the replay' });
      expect(replayed().filter((e) => e.event.instanceId !== after.id).map(key)).toEqual(expectedRest);
      single.stop();
      batched.stop();
      resumed.stop();
    } finally {
      await ws.dispose();
    }
  });

  test('instanceUpdated stays open while the instance waits and completes after its terminal event, live or replayed', async () => {
    const ws = wsClient(server.url, server.apiKey);
    const until = (id: string, status: string) =>
      waitFor(async () => (await client.request(InstanceDocument, { id })).workflowInstance, (i) => i.status === status, { what: status });
    const story = (c: Collector<InstanceUpdatedSubscription>) => c.items.map(({ instanceUpdated: { event } }) => `${event.entity} ${event.event} ${event.toStatus}`);
    try {
      // Live, from a waiting instance on: the stream goes on through the resume, then completes.
      const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId: await published(shortFlow(2)), input: {} });
      const id = startWorkflow.instance.id;
      const waiting = await until(id, 'WAITING');
      const live = collect(ws, InstanceUpdatedDocument, { instanceId: id });
      expect(await live.ended).toBe('complete');
      const done = (await client.request(InstanceDocument, { id })).workflowInstance;
      expect(done.status).toBe('COMPLETED');
      expect(live.items.map((i) => i.instanceUpdated.seq)).toEqual(done.events.filter((e) => e.seq > waiting.eventSeq).map((e) => e.seq));
      expect(story(live)).toContain('INSTANCE resume RUNNING');
      expect(story(live).at(-1)).toBe('INSTANCE complete COMPLETED');
      expect(live.errors).toEqual([]);

      // After the end: `since` replays the rest, then completes; without it there is nothing more.
      const replay = collect(ws, InstanceUpdatedDocument, { instanceId: id, since: 2 });
      expect(await replay.ended).toBe('complete');
      expect(replay.items.map((i) => i.instanceUpdated.seq)).toEqual(done.events.filter((e) => e.seq > 2).map((e) => e.seq));
      const late = collect(ws, InstanceUpdatedDocument, { instanceId: id });
      expect(await late.ended).toBe('complete');
      expect(late.items).toEqual([]);

      // Cancelled while waiting: complete after the CANCELLED event.
      const long = await client.request(StartWorkflowDocument, { workflowId: await published(shortFlow(30)), input: {} });
      const longId = long.startWorkflow.instance.id;
      await until(longId, 'WAITING');
      const watched = collect(ws, InstanceUpdatedDocument, { instanceId: longId, since: 0 });
      await waitFor(async () => story(watched), (s) => s.includes('INSTANCE wait WAITING'), { what: 'the replay up to the wait' });
      expect(watched.done).toBe(false);
      await client.request(CancelInstanceDocument, { id: longId });
      expect(await watched.ended).toBe('complete');
      expect(story(watched).at(-1)).toBe('INSTANCE cancel CANCELLED');
    } finally {
      await ws.dispose();
    }
  });

  test('two editors receive each other\'s edits, undos and redos', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Shared draft' } });
    const workflowId = createWorkflow.id;
    const other = await server.newWorkspace('not allowed');
    void other;
    const secondKey = (await client.request(
      `mutation { createApiKey(name: "second editor") { secret apiKey { id } } }`,
      {},
    )) as { createApiKey: { secret: string; apiKey: { id: string } } };
    const editorA = wsClient(server.url, server.apiKey);
    const editorB = wsClient(server.url, secondKey.createApiKey.secret);
    try {
      const seenByA = collect(editorA, WorkflowEditedDocument, { workflowId });
      const seenByB = collect(editorB, WorkflowEditedDocument, { workflowId });
      // Marker edits (descriptions) until one reaches both editors; the edits under test come after it.
      let base = 0;
      await untilLive(
        async () => {
          const { applyEdits } = await client.request(ApplyEditsDocument, { workflowId, edits: [{ updateWorkflow: { description: `marker ${base}` } }] });
          base = applyEdits.workflow.draftRevision;
          return String(base);
        },
        (marker) => [seenByA, seenByB].every((seen) => seen.items.some((i) => String(i.workflowEdited.draftRevision) === marker)),
      );
      await client.request(AddStepDocument, { workflowId, input: { id: 't', type: 'trigger.manual', name: 'Start' } });
      await client.request(UndoDocument, { workflowId });
      await client.request(RedoDocument, { workflowId });
      const after = (seen: typeof seenByA) => seen.items.filter((i) => i.workflowEdited.draftRevision > base);
      await waitFor(async () => Math.min(after(seenByA).length, after(seenByB).length), (n) => n >= 3, { what: 'three edits on both sockets' });
      for (const seen of [seenByA, seenByB]) {
        expect(after(seen).map((i) => [i.workflowEdited.change, i.workflowEdited.label, i.workflowEdited.draftRevision])).toEqual([
          ['EDIT', "Added step 'Start'", base + 1],
          ['UNDO', "Undid: Added step 'Start'", base + 2],
          ['REDO', "Redid: Added step 'Start'", base + 3],
        ]);
      }
      seenByA.stop();
      seenByB.stop();
    } finally {
      await editorA.dispose();
      await editorB.dispose();
    }
  });

  test('a workflow or instance of another workspace cannot be subscribed to', async () => {
    const workflowId = await published(shortFlow());
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const other = await server.newWorkspace('intruder');
    const ws = wsClient(server.url, other.apiKey);
    try {
      const a = collect(ws, WorkflowInstanceEventsDocument, { workflowId });
      const b = collect(ws, InstanceUpdatedDocument, { instanceId: startWorkflow.instance.id, since: 0 });
      await waitFor(async () => a.errors.length + b.errors.length, (n) => n >= 2, { what: 'both refused' });
      for (const c of [a, b]) {
        expect(c.items).toEqual([]);
        expect(JSON.stringify(c.errors)).toContain('NOT_FOUND');
      }
    } finally {
      await ws.dispose();
    }
  });

  test('a socket with a wrong key is closed with 4403; one that never authenticates is closed after the timeout', async () => {
    const closeOf = (socket: WebSocket) => new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    const url = server.url.replace(/^http/, 'ws');
    const bad = new WebSocket(url, 'graphql-transport-ws');
    const badClosed = closeOf(bad);
    bad.on('open', () => bad.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer wfb_wrong' } })));
    expect(await badClosed).toBe(4403);

    const silent = new WebSocket(url, 'graphql-transport-ws');
    expect(await closeOf(silent)).toBe(4408);
  });

  test('sockets per API key are capped: the one over the limit is closed with 4429', async () => {
    const url = server.url.replace(/^http/, 'ws');
    const { secret } = (
      (await client.request(`mutation { createApiKey(name: "socket cap") { secret } }`, {})) as { createApiKey: { secret: string } }
    ).createApiKey;
    const open = (): Promise<{ socket: WebSocket; acked: Promise<boolean>; closed: Promise<number> }> =>
      new Promise((resolve) => {
        const socket = new WebSocket(url, 'graphql-transport-ws');
        const closed = new Promise<number>((r) => socket.on('close', (code) => r(code)));
        const acked = new Promise<boolean>((r) => {
          socket.on('message', (m) => r(JSON.parse(String(m)).type === 'connection_ack'));
          socket.on('close', () => r(false));
        });
        socket.on('open', () => {
          socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${secret}` } }));
          resolve({ socket, acked, closed });
        });
      });
    const sockets = [await open(), await open(), await open()];
    expect(await Promise.all(sockets.map((s) => s.acked))).toEqual([true, true, true]);
    const fourth = await open();
    expect(await fourth.acked).toBe(false);
    expect(await fourth.closed).toBe(4429);
    sockets[0]!.socket.close();
    await sockets[0]!.closed;
    const again = await open();
    expect(await again.acked).toBe(true);
    for (const s of [...sockets.slice(1), again]) s.socket.close();
  });

  test('subscriptions per socket are capped with a clear error', async () => {
    const workflowId = await published(shortFlow());
    const ws = wsClient(server.url, server.apiKey);
    try {
      const subs = [0, 1, 2, 3].map(() => collect(ws, WorkflowEditedDocument, { workflowId }));
      await waitFor(async () => subs.reduce((n, s) => n + s.errors.length, 0), (n) => n >= 1, { what: 'the fourth to be refused' });
      expect(JSON.stringify(subs[3]!.errors)).toContain('LIMIT_EXCEEDED');
      expect(subs.slice(0, 3).every((s) => s.errors.length === 0)).toBe(true);
      subs.forEach((s) => s.stop());
    } finally {
      await ws.dispose();
    }
  });

  test('stopping a quiet subscription frees its slot without waiting for an event, and the next one on the socket works', async () => {
    const workflowId = await published(shortFlow());
    const ws = wsClient(server.url, server.apiKey);
    try {
      const quiet = [0, 1, 2].map(() => collect(ws, WorkflowInstanceEventsDocument, { workflowId }));
      // Live once a marker run reached all three; then, with the run over, nothing happens on these
      // streams: the server's side waits for an event when `complete` arrives.
      const markers: string[] = [];
      await untilLive(
        async () => {
          markers.push(await startRun(workflowId));
          return markers.at(-1)!;
        },
        (marker) => quiet.every((q) => singles(q).some((e) => e.event.instanceId === marker)),
      );
      await Promise.all(markers.map(finished));
      await waitFor(async () => quiet.every((q) => q.items.length >= 1), Boolean, { what: 'the markers' });
      quiet[0]!.stop();
      const stoppedAt = quiet[0]!.items.length;
      // The server gives the slot back once its side of the stream has ended, a few ticks after
      // `complete` arrives: a subscribe sent right behind it may still be refused. Acceptance is
      // silent in graphql-ws, so the fourth replays the markers (`since`) to show it was taken.
      // Nothing happens on the stream meanwhile: a slot that waited for an event never comes back.
      let fourth = collect(ws, WorkflowInstanceEventsDocument, { workflowId, since: '0' });
      for (let attempt = 0; ; attempt++) {
        await waitFor(async () => fourth.items.length + fourth.errors.length, (n) => n >= 1, { what: 'the fourth to be taken or refused' });
        if (fourth.errors.length === 0) break;
        expect(JSON.stringify(fourth.errors)).toContain('LIMIT_EXCEEDED');
        if (attempt >= 50) throw new Error('the stopped subscription never gave its slot back');
        fourth = collect(ws, WorkflowInstanceEventsDocument, { workflowId, since: '0' });
      }
      const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
      await finished(startWorkflow.instance.id);
      await waitFor(async () => singles(fourth).some((e) => e.event.instanceId === startWorkflow.instance.id), Boolean, {
        what: 'the fourth subscription to receive the run',
      });
      expect(fourth.errors).toEqual([]);
      expect(quiet[0]!.items).toHaveLength(stoppedAt);
      [...quiet, fourth].forEach((s) => s.stop());
    } finally {
      await ws.dispose();
    }
  });
});
