import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddStepDocument,
  ApplyEditsDocument,
  CancelInstanceDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstanceUpdatedDocument,
  PublishWorkflowDocument,
  SendEventDocument,
  StartWorkflowDocument,
  type EditInput,
  type InstanceQuery,
  type SendEventMutation,
} from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import { collect, wsClient } from '../support/ws-client.js';

/**
 * wait.forEvent through GraphQL: an event sent after the wait is reached and before it (kept, then
 * taken), the timeout, the race of the two (each wait ends on exactly one port), cancel while
 * waiting, workspaces that never see each other's events, and the refusals.
 */
type Instance = InstanceQuery['workflowInstance'];

const LIMITS = { perKey: 3, perWorkspace: 30, payloadBytes: 2048 };
let server: TestServer;
let client: GraphQLClient;

beforeAll(async () => {
  server = await startTestServer({
    env: {
      EVENT_MAX_PENDING_PER_KEY: String(LIMITS.perKey),
      EVENT_MAX_PENDING_PER_WORKSPACE: String(LIMITS.perWorkspace),
      EVENT_MAX_PAYLOAD_BYTES: String(LIMITS.payloadBytes),
      SCHEDULER_POLL_MS: '200',
    },
  });
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
});

const timeoutOf = (seconds: number) => (seconds % 3600 === 0 ? { amount: seconds / 3600, unit: 'hours' } : { amount: seconds, unit: 'seconds' });

/** t → wait (order.paid, order-{{trigger.order}}); received → paid (SMS with the payload), timedOut → late (SMS). */
function waitEdits(options: { timeoutSeconds?: number; withTimeoutEdge?: boolean } = {}): EditInput[] {
  const { timeoutSeconds = 3600, withTimeoutEdge = true } = options;
  return [
    { addStep: { id: 't', type: 'trigger.manual', name: 'Order placed' } },
    {
      addStep: {
        id: 'wait',
        type: 'wait.forEvent',
        name: 'Wait for the payment',
        config: { event: 'order.paid', key: 'order-{{ trigger.order }}', timeout: timeoutOf(timeoutSeconds) },
        after: { stepId: 't', port: 'next' },
      },
    },
    {
      addStep: {
        id: 'paid',
        type: 'sms.send',
        name: 'Thank',
        config: { to: '+15550100', text: 'paid {{ steps.wait.output.amount }} for {{ trigger.order }}' },
        after: { stepId: 'wait', port: 'received' },
      },
    },
    ...(withTimeoutEdge
      ? ([
          { addStep: { id: 'late', type: 'sms.send', name: 'Remind', config: { to: '+15550100', text: 'still unpaid: {{ trigger.order }}' } } },
          { connectSteps: { from: 'wait', port: 'timedOut', to: 'late' } },
        ] satisfies EditInput[])
      : []),
  ];
}

async function publishWaitFlow(c: GraphQLClient, options: { timeoutSeconds?: number } = {}): Promise<string> {
  const { createWorkflow } = await c.request(CreateWorkflowDocument, { input: { name: 'Wait for the payment' } });
  await c.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits: waitEdits(options) });
  await c.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const start = async (c: GraphQLClient, workflowId: string, order: string) =>
  (await c.request(StartWorkflowDocument, { workflowId, input: { order } })).startWorkflow.instance.id;
const instanceOf = async (c: GraphQLClient, id: string): Promise<Instance> => (await c.request(InstanceDocument, { id })).workflowInstance;
const until = (c: GraphQLClient, id: string, statuses: string[], timeoutMs = 20_000) =>
  waitFor(() => instanceOf(c, id), (i) => statuses.includes(i.status), { what: `instance ${id} to reach ${statuses.join('/')}`, timeoutMs });
const send = async (c: GraphQLClient, key: string, payload: unknown = { amount: 180 }): Promise<SendEventMutation['sendEvent']> =>
  (await c.request(SendEventDocument, { name: 'order.paid', key, payload })).sendEvent;
const step = (i: Instance, stepId: string) => i.stepRuns.find((r) => r.stepId === stepId);
let orders = 0;
const newOrder = () => `${process.pid}-${Date.now()}-${++orders}`;

describe('an event sent after the wait is reached', () => {
  test('resumes the instance on received with the payload as the output; the wait shows why it waited', async () => {
    const workflowId = await publishWaitFlow(client);
    const order = newOrder();
    const id = await start(client, workflowId, order);
    const waiting = await until(client, id, ['WAITING']);
    expect(waiting.waitReason).toBe('EVENT');
    expect(waiting.currentStepId).toBe('wait');
    expect(step(waiting, 'wait')).toMatchObject({ status: 'SCHEDULED', waitReason: 'EVENT', output: { event: 'order.paid', key: `order-${order}` } });
    const due = new Date(step(waiting, 'wait')!.dueAt).getTime() - Date.now();
    expect(due).toBeGreaterThan(3_500_000);

    // A subscriber sees the wake as it happens, then the resumed run.
    const ws = wsClient(server.url, server.apiKey);
    const live = collect(ws, InstanceUpdatedDocument, { instanceId: id, since: waiting.eventSeq });
    const sent = await send(client, `order-${order}`, { amount: 180, currency: 'EUR' });
    expect(sent).toEqual({ resumedInstanceIds: [id], keptUntil: null });
    const done = await until(client, id, ['COMPLETED', 'FAILED']);
    try {
      await waitFor(async () => live.items.length, (n) => n >= done.eventSeq - waiting.eventSeq, { what: 'the live events after the wait' });
      const story = live.items.map(({ instanceUpdated: { event } }) => `${event.stepId ?? 'instance'} ${event.event} ${event.toStatus}`);
      expect(story.slice(0, 4)).toEqual(['wait wake SCHEDULED', 'instance resume RUNNING', 'wait resume RUNNING', 'wait succeed SUCCEEDED']);
      expect(story.at(-1)).toBe('instance complete COMPLETED');
    } finally {
      live.stop();
      await ws.dispose();
    }
    expect(done.status).toBe('COMPLETED');
    expect(done.waitReason).toBeNull();
    expect(step(done, 'wait')).toMatchObject({ status: 'SUCCEEDED', waitReason: 'EVENT', output: { amount: 180, currency: 'EUR' } });
    expect(step(done, 'late')?.status).toBe('SKIPPED');
    expect(done.messages.edges.map((e) => e.node.text)).toEqual([`paid 180 for ${order}`]);
    const story = done.events.filter((e) => e.stepId === 'wait').map((e) => e.event);
    expect(story).toEqual(['schedule', 'start', 'wait', 'wake', 'resume', 'succeed']);
    expect(done.events.find((e) => e.event === 'wake')?.detail).toEqual({ event: 'order.paid', key: `order-${order}` });
  });

  test('one event resumes every instance waiting for it, and a second event for the same key finds none waiting', async () => {
    const workflowId = await publishWaitFlow(client);
    const order = newOrder();
    const ids = [await start(client, workflowId, order), await start(client, workflowId, order)];
    for (const id of ids) await until(client, id, ['WAITING']);
    const sent = await send(client, `order-${order}`);
    expect([...sent.resumedInstanceIds].sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await until(client, id, ['COMPLETED'])).messages.edges).toHaveLength(1);
    const again = await send(client, `order-${order}`);
    expect(again.resumedInstanceIds).toEqual([]);
    expect(again.keptUntil).not.toBeNull();
  });
});

describe('an event sent before the wait is reached', () => {
  test('is kept, and the first instance to reach the wait takes it at once; the next one waits', async () => {
    const workflowId = await publishWaitFlow(client);
    const order = newOrder();
    const sent = await send(client, `order-${order}`, { amount: 99 });
    expect(sent.resumedInstanceIds).toEqual([]);
    const keptFor = new Date(sent.keptUntil!).getTime() - Date.now();
    expect(keptFor).toBeGreaterThan(23 * 3_600_000);

    const first = await start(client, workflowId, order);
    const done = await until(client, first, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(step(done, 'wait')?.output).toEqual({ amount: 99 });
    expect(done.messages.edges.map((e) => e.node.text)).toEqual([`paid 99 for ${order}`]);
    expect(done.events.find((e) => e.event === 'wake')?.detail).toMatchObject({ kept: true });

    // Taken once: the next instance for the same order waits for an event of its own.
    const second = await start(client, workflowId, order);
    await until(client, second, ['WAITING']);
    expect((await send(client, `order-${order}`, { amount: 1 })).resumedInstanceIds).toEqual([second]);
    expect(step(await until(client, second, ['COMPLETED']), 'wait')?.output).toEqual({ amount: 1 });
  });

  test('kept events are taken oldest first, one per wait', async () => {
    const workflowId = await publishWaitFlow(client);
    const order = newOrder();
    await send(client, `order-${order}`, { amount: 1 });
    await send(client, `order-${order}`, { amount: 2 });
    const a = await until(client, await start(client, workflowId, order), ['COMPLETED']);
    const b = await until(client, await start(client, workflowId, order), ['COMPLETED']);
    expect([step(a, 'wait')?.output, step(b, 'wait')?.output]).toEqual([{ amount: 1 }, { amount: 2 }]);
  });
});

describe('the timeout', () => {
  test('without an event the wait ends on timedOut', async () => {
    const workflowId = await publishWaitFlow(client, { timeoutSeconds: 1 });
    const order = newOrder();
    const id = await start(client, workflowId, order);
    const done = await until(client, id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(step(done, 'wait')).toMatchObject({ status: 'SUCCEEDED', output: { timedOut: true, event: 'order.paid', key: `order-${order}` } });
    expect(step(done, 'paid')?.status).toBe('SKIPPED');
    expect(done.messages.edges.map((e) => e.node.text)).toEqual([`still unpaid: ${order}`]);
    expect(done.events.some((e) => e.event === 'wake')).toBe(false);
    // The wait has ended: a late event wakes nothing and is kept for a wait to come.
    const late = await send(client, `order-${order}`);
    expect(late.resumedInstanceIds).toEqual([]);
    expect(late.keptUntil).not.toBeNull();
  });

  test('racing an event, each wait ends on exactly one port, and the event is used exactly when it resumed the instance', async () => {
    // A workspace of its own: the events that lose the race are kept, and count against its limit.
    const { client: racer } = await server.newWorkspace('race');
    const workflowId = await publishWaitFlow(racer, { timeoutSeconds: 3 });
    const runs = 24;
    const orders = Array.from({ length: runs }, () => newOrder());
    const ids = await Promise.all(orders.map((order) => start(racer, workflowId, order)));
    const outcomes = await Promise.all(
      ids.map(async (id, n) => {
        const waiting = await until(racer, id, ['WAITING', 'COMPLETED']);
        const due = new Date(step(waiting, 'wait')!.dueAt).getTime();
        // From before the timeout to well after it, through the moment both are due.
        const offset = -1_000 + Math.round((n * 2_500) / (runs - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due + offset - Date.now())));
        const sendStart = Date.now();
        const sent = await send(racer, `order-${orders[n]}`, { amount: n });
        const sendEnd = Date.now();
        return { id, n, sent, due, sendStart, sendEnd, done: await until(racer, id, ['COMPLETED', 'FAILED']) };
      }),
    );
    for (const { id, n, sent, due, sendStart, sendEnd, done } of outcomes) {
      expect(done.status, id).toBe('COMPLETED');
      const paid = step(done, 'paid')!.status;
      const late = step(done, 'late')!.status;
      expect([paid, late].sort(), `instance ${n}`).toEqual(['SKIPPED', 'SUCCEEDED']);
      const received = paid === 'SUCCEEDED';
      expect(done.messages.edges, `instance ${n}`).toHaveLength(1);
      // The event resumed this instance exactly when the wait took received; otherwise it is kept.
      expect(sent.resumedInstanceIds.includes(id), `instance ${n}`).toBe(received);
      expect(sent.keptUntil !== null, `instance ${n}`).toBe(!received);
      expect(step(done, 'wait')!.output, `instance ${n}`).toEqual(received ? { amount: n } : expect.objectContaining({ timedOut: true }));
      expect(done.events.filter((e) => e.stepId === 'wait').map((e) => e.event)).toEqual(['schedule', 'start', 'wait', ...(received ? ['wake'] : []), 'resume', 'succeed']);
      // Resumed before the due time: no timeout can have started (a job is never run early).
      if (sendEnd < due - 50) expect(received, `instance ${n}, sent before its timeout`).toBe(true);
      // Sent long after the timeout's job was due: it had started.
      if (sendStart > due + 1_000) expect(received, `instance ${n}, sent after its timeout`).toBe(false);
    }
    const resumed = outcomes.filter((o) => o.sent.resumedInstanceIds.length > 0).length;
    // Both sides of the race happened (the spread of send times covers both).
    expect(resumed, `${resumed} of ${runs} received`).toBeGreaterThan(0);
    expect(resumed, `${resumed} of ${runs} received`).toBeLessThan(runs);
  }, 90_000);
});

describe('cancel while waiting', () => {
  test('cancels the waiting instance; an event afterwards resumes nothing and is kept', async () => {
    const workflowId = await publishWaitFlow(client);
    const order = newOrder();
    const id = await start(client, workflowId, order);
    await until(client, id, ['WAITING']);
    const { cancelInstance } = await client.request(CancelInstanceDocument, { id });
    expect(cancelInstance.status).toBe('CANCELLED');
    const cancelled = await instanceOf(client, id);
    expect(cancelled.waitReason).toBeNull();
    expect(step(cancelled, 'wait')?.status).toBe('CANCELLED');
    const sent = await send(client, `order-${order}`);
    expect(sent.resumedInstanceIds).toEqual([]);
    expect(sent.keptUntil).not.toBeNull();
    expect((await instanceOf(client, id)).status).toBe('CANCELLED');
  });
});

describe('workspaces', () => {
  test("an event never reaches another workspace's instance, and a kept event is never taken by one", async () => {
    const other = await server.newWorkspace('other');
    const mine = await publishWaitFlow(client);
    const theirs = await publishWaitFlow(other.client);
    const order = newOrder();
    const waiting = await start(client, mine, order);
    await until(client, waiting, ['WAITING']);

    // Theirs, same name and key: mine goes on waiting, and theirs is kept in their workspace.
    const foreign = await send(other.client, `order-${order}`, { amount: 666 });
    expect(foreign.resumedInstanceIds).toEqual([]);
    expect(foreign.keptUntil).not.toBeNull();
    expect((await instanceOf(client, waiting)).status).toBe('WAITING');
    // Their instance takes their kept event, not anything of mine.
    const theirRun = await until(other.client, await start(other.client, theirs, order), ['COMPLETED']);
    expect(step(theirRun, 'wait')?.output).toEqual({ amount: 666 });
    // Mine still waits, and my own event resumes it.
    expect((await instanceOf(client, waiting)).status).toBe('WAITING');
    expect((await send(client, `order-${order}`, { amount: 7 })).resumedInstanceIds).toEqual([waiting]);
    expect(step(await until(client, waiting, ['COMPLETED']), 'wait')?.output).toEqual({ amount: 7 });
    // Neither can read the other's instance.
    expect((await other.client.expectError(InstanceDocument, { id: waiting })).extensions?.code).toBe('NOT_FOUND');
  });
});

describe('bad input', () => {
  const SEND = 'mutation($name: String!, $key: String!, $payload: JSON) { sendEvent(name: $name, key: $key, payload: $payload) { resumedInstanceIds keptUntil } }';
  const refusal = async (c: GraphQLClient, variables: Record<string, unknown>) => {
    const { body } = await c.raw(SEND, variables);
    expect(body.data ?? null).toBeNull();
    return body.errors![0]!;
  };

  test.each([
    ['an empty name', { name: '', key: 'k' }, 'BAD_USER_INPUT', 'name'],
    ['a name over 100 characters', { name: 'n'.repeat(101), key: 'k' }, 'BAD_USER_INPUT', 'name'],
    ['a name with a line break', { name: 'order\npaid', key: 'k' }, 'BAD_USER_INPUT', 'name'],
    ['a key over 256 characters', { name: 'order.paid', key: 'k'.repeat(257) }, 'BAD_USER_INPUT', 'key'],
    ['a key with an escape character', { name: 'order.paid', key: 'k\u001b[31m' }, 'BAD_USER_INPUT', 'key'],
    ['a key with a trailing space', { name: 'order.paid', key: 'order-1 ' }, 'BAD_USER_INPUT', 'key'],
    ['a payload too large', { name: 'order.paid', key: 'k', payload: { text: 'x'.repeat(LIMITS.payloadBytes) } }, 'LIMIT_EXCEEDED', 'payload'],
  ])('sendEvent refuses %s with %s naming the field', async (_what, variables, code, field) => {
    const error = await refusal(client, variables);
    expect(error.extensions).toMatchObject({ code, field });
  });

  test('a flood of events for one key is refused once the key holds its limit, and nothing is written by the refusal', async () => {
    const { client: flooder } = await server.newWorkspace('flood');
    const key = `order-${newOrder()}`;
    for (let i = 0; i < LIMITS.perKey; i++) expect((await send(flooder, key, { n: i })).keptUntil).not.toBeNull();
    const error = await refusal(flooder, { name: 'order.paid', key, payload: { n: 'too many' } });
    expect(error.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', field: 'key', limit: LIMITS.perKey });
    // Another key of the same workspace is still accepted.
    expect((await send(flooder, `${key}-b`)).keptUntil).not.toBeNull();
    // The kept ones are intact and taken in order; the refused one is not among them.
    const workflowId = await publishWaitFlow(flooder);
    const order = key.slice('order-'.length);
    const outputs = [];
    for (let i = 0; i < LIMITS.perKey + 1; i++) {
      const id = await start(flooder, workflowId, order);
      const seen = await until(flooder, id, i < LIMITS.perKey ? ['COMPLETED'] : ['WAITING']);
      outputs.push(step(seen, 'wait')?.status === 'SUCCEEDED' ? step(seen, 'wait')?.output : 'waiting');
    }
    expect(outputs).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, 'waiting']);
  });

  test("a workspace's kept events are bounded as a whole, whatever the keys", async () => {
    const { client: flooder } = await server.newWorkspace('flood many keys');
    for (let i = 0; i < LIMITS.perWorkspace; i++) await send(flooder, `many-${i}`);
    const error = await refusal(flooder, { name: 'order.paid', key: 'one-more' });
    expect(error.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: LIMITS.perWorkspace });
    // Other workspaces are not affected.
    expect((await send(client, `order-${newOrder()}`)).keptUntil).not.toBeNull();
  });

  test('a timeout over 365 days is refused when the step is saved', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Too long' } });
    const error = await client.expectError(AddStepDocument, {
      workflowId: createWorkflow.id,
      input: { id: 'wait', type: 'wait.forEvent', name: 'Wait', config: { event: 'e', key: 'k', timeout: { amount: 366, unit: 'days' } } },
    });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(error.extensions)).toContain('timeout.amount');
  });

  test('publishing reports a wait without a timedOut edge', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'No timeout edge' } });
    await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits: waitEdits({ withTimeoutEdge: false }) });
    const error = await client.expectError(PublishWorkflowDocument, { workflowId: createWorkflow.id });
    expect(error.extensions?.code).toBe('VALIDATION_FAILED');
    const problems = error.extensions?.problems as { code: string; stepId?: string; port?: string }[];
    expect(problems).toEqual([expect.objectContaining({ code: 'MISSING_REQUIRED_EDGE', stepId: 'wait', port: 'timedOut' })]);
  });

  test('a key that renders empty fails the instance with a reason, without retries', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Empty key' } });
    const edits = waitEdits().map((e) =>
      e.addStep?.id === 'wait' ? { addStep: { ...e.addStep, config: { event: 'order.paid', key: '{{ trigger.missing }}', timeout: timeoutOf(60) } } } : e,
    );
    await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
    await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
    const failed = await until(client, await start(client, createWorkflow.id, newOrder()), ['FAILED', 'COMPLETED']);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatchObject({ stepId: 'wait', reason: expect.stringMatching(/correlation key is refused: A correlation key must not be empty/) });
    expect(step(failed, 'wait')?.attempt).toBe(1);
  });
});

describe('POST /events', () => {
  const post = (body: string, headers: Record<string, string> = {}, apiKey: string | undefined = server.apiKey) =>
    fetch(`${new URL(server.url).origin}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...headers },
      body,
    });

  test('sends an event with an API key: it resumes the waiting instance of the key\'s workspace', async () => {
    const workflowId = await publishWaitFlow(client);
    const order = newOrder();
    const id = await start(client, workflowId, order);
    await until(client, id, ['WAITING']);
    const other = await server.newWorkspace('http other');
    const foreign = await post(JSON.stringify({ name: 'order.paid', key: `order-${order}`, payload: { amount: 1 } }), {}, other.apiKey);
    expect(foreign.status).toBe(200);
    expect(await foreign.json()).toEqual({ resumedInstanceIds: [], keptUntil: expect.any(String) });

    const res = await post(JSON.stringify({ name: 'order.paid', key: `order-${order}`, payload: { amount: 42 } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ resumedInstanceIds: [id], keptUntil: null });
    expect(step(await until(client, id, ['COMPLETED']), 'wait')?.output).toEqual({ amount: 42 });
  });

  test.each([
    ['no API key', '{"name":"e","key":"k"}', {}, '', 401, 'UNAUTHENTICATED'],
    ['an unknown API key', '{"name":"e","key":"k"}', {}, 'wfb_unknown_key', 401, 'UNAUTHENTICATED'],
    ['a body that is not JSON', 'name=e', { 'content-type': 'application/x-www-form-urlencoded' }, undefined, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['invalid JSON', '{"name":', {}, undefined, 400, 'MALFORMED_JSON'],
    ['a body that is not an object', '["e","k"]', {}, undefined, 400, 'BAD_REQUEST'],
    ['no key', '{"name":"e"}', {}, undefined, 400, 'BAD_REQUEST'],
    ['a name with a line break', '{"name":"a\\nb","key":"k"}', {}, undefined, 400, 'BAD_REQUEST'],
    ['a payload too large', JSON.stringify({ name: 'e', key: 'k', payload: 'x'.repeat(LIMITS.payloadBytes) }), {}, undefined, 413, 'PAYLOAD_TOO_LARGE'],
  ] as const)('refuses %s', async (_what, body, headers, key, status, code) => {
    const res = await post(body, headers, key);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  test('a key holding its limit of kept events is 429 LIMIT_EXCEEDED; other methods are 405', async () => {
    const { apiKey } = await server.newWorkspace('http flood');
    const body = JSON.stringify({ name: 'order.paid', key: `flood-${newOrder()}` });
    for (let i = 0; i < LIMITS.perKey; i++) expect((await post(body, {}, apiKey)).status).toBe(200);
    const refused = await post(body, {}, apiKey);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: { code: 'LIMIT_EXCEEDED', message: expect.stringContaining('kept already') } });
    expect((await fetch(`${new URL(server.url).origin}/events`)).status).toBe(405);
  });
});
