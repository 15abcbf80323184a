import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddStepDocument,
  ApplyEditsDocument,
  CancelInstanceDocument,
  CreateEventSigningSecretDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstanceUpdatedDocument,
  PublishWorkflowDocument,
  RevokeEventSigningSecretDocument,
  SendEventDocument,
  StartWorkflowDocument,
  WorkspaceEventSigningDocument,
  type EditInput,
  type InstanceQuery,
  type SendEventMutation,
} from '../../src/sdk/operations.generated.js';
import { signWebhookBody } from '../../src/http/webhook-signature.js';
import { waitFor } from '../support/fake-http-server.js';
import { GraphQLClient, startTestServer, type TestServer } from '../support/test-server.js';
import { collect, wsClient } from '../support/ws-client.js';

/**
 * wait.forEvent through GraphQL: an event sent after the wait is reached and before it (kept, then
 * taken), the timeout, the race of the two (each wait ends on exactly one port), cancel while
 * waiting, workspaces that never see each other's events, and the refusals; then the same over
 * HTTP, with an API key (POST /events) and signed with the workspace's secret (POST /events/:id).
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

describe('POST /events/:workspaceId (signed)', () => {
  const origin = () => new URL(server.url).origin;
  const nowS = () => Math.floor(Date.now() / 1000);
  const eventBody = (key: string, payload: unknown = { amount: 42 }) => JSON.stringify({ name: 'order.paid', key, payload });
  const signed = (secret: string, body: string, timestamp = nowS()) => signWebhookBody({ secret, timestamp, body });
  const postSigned = (workspaceId: string, body: string, signature: string | undefined, headers: Record<string, string> = {}) =>
    fetch(`${origin()}/events/${workspaceId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-wfb-signature': signature } : {}), ...headers },
      body,
    });
  const secretOf = async (c: GraphQLClient) => (await c.request(CreateEventSigningSecretDocument)).createEventSigningSecret;
  /** A workspace of its own with a secret, a published wait flow and an instance waiting for `order-<order>`. */
  async function waitingWorkspace(name: string) {
    const ws = await server.newWorkspace(name);
    const { secret } = await secretOf(ws.client);
    const workflowId = await publishWaitFlow(ws.client);
    const order = newOrder();
    const id = await start(ws.client, workflowId, order);
    await until(ws.client, id, ['WAITING']);
    return { ...ws, secret, workflowId, order, id, key: `order-${order}` };
  }
  const expectRefused = async (res: Response, status: number, code: string) => {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(body).toEqual({ error: { code, message: expect.any(String) } });
    return body.error.message;
  };

  test('a signed event resumes the waiting instance of the secret\'s workspace, with no API key', async () => {
    const ws = await waitingWorkspace('signed resume');
    const body = eventBody(ws.key);
    const res = await postSigned(ws.workspaceId, body, signed(ws.secret, body));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ resumedInstanceIds: [ws.id], keptUntil: null });
    expect(step(await until(ws.client, ws.id, ['COMPLETED']), 'wait')?.output).toEqual({ amount: 42 });
  });

  test('a signed event sent before the wait is reached is kept, and taken by the first instance to wait', async () => {
    const ws = await server.newWorkspace('signed kept');
    const { secret } = await secretOf(ws.client);
    const order = newOrder();
    const body = eventBody(`order-${order}`, { amount: 5 });
    const res = await postSigned(ws.workspaceId, body, signed(secret, body));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ resumedInstanceIds: [], keptUntil: expect.any(String) });
    const id = await start(ws.client, await publishWaitFlow(ws.client), order);
    expect(step(await until(ws.client, id, ['COMPLETED']), 'wait')?.output).toEqual({ amount: 5 });
  });

  test('a bad signature of any kind is 401 UNAUTHENTICATED, and nothing is resumed', async () => {
    const ws = await waitingWorkspace('signed refusals');
    const other = await server.newWorkspace('signed other');
    const { secret: otherSecret } = await secretOf(other.client);
    const body = eventBody(ws.key);
    const cases: [string, string, string | undefined][] = [
      ['a wrong secret', body, signed('whsec_wrong', body)],
      ['a stale timestamp', body, signed(ws.secret, body, nowS() - 301)],
      ['a timestamp too far ahead', body, signed(ws.secret, body, nowS() + 301)],
      ['no header', body, undefined],
      ['a malformed header', body, 'v1=abc'],
      ['a tampered body', eventBody(ws.key, { amount: 4200 }), signed(ws.secret, body)],
      ["another workspace's secret", body, signed(otherSecret, body)],
    ];
    for (const [what, sent, signature] of cases) {
      expect(await expectRefused(await postSigned(ws.workspaceId, sent, signature), 401, 'UNAUTHENTICATED'), what).toEqual(expect.any(String));
    }
    // Another workspace's own secret is fine for its own URL, and reaches nothing of this one.
    expect((await postSigned(other.workspaceId, body, signed(otherSecret, body))).status).toBe(200);
    expect((await instanceOf(ws.client, ws.id)).status).toBe('WAITING');
  });

  test('an unknown workspace, one without a secret and a malformed id are refused exactly as a wrong signature', async () => {
    const ws = await waitingWorkspace('signed enumeration');
    const bare = await server.newWorkspace('signed no secret');
    const body = eventBody(ws.key);
    const signature = signed('whsec_guess', body);
    const messages = new Set<string>();
    for (const workspaceId of [ws.workspaceId, bare.workspaceId, '00000000-0000-4000-8000-000000000000', 'not-a-uuid', "1'%20or%20'1'='1", 'x'.repeat(300)]) {
      messages.add(await expectRefused(await postSigned(workspaceId, body, signature), 401, 'UNAUTHENTICATED'));
    }
    expect([...messages]).toEqual(['The signature does not match the body']);
    // And a missing header reads the same whether the workspace exists or not.
    const missing = new Set<string>();
    for (const workspaceId of [ws.workspaceId, bare.workspaceId, 'not-a-uuid']) {
      missing.add(await expectRefused(await postSigned(workspaceId, body, undefined), 401, 'UNAUTHENTICATED'));
    }
    expect(missing.size).toBe(1);
    expect((await instanceOf(ws.client, ws.id)).status).toBe('WAITING');
  });

  test('a replay of an accepted signed call is 409 REPLAYED_SIGNATURE, however the header is spelled; the instance is resumed once', async () => {
    const ws = await waitingWorkspace('signed replay');
    const body = eventBody(ws.key);
    const signature = signed(ws.secret, body);
    expect((await postSigned(ws.workspaceId, body, signature)).status).toBe(200);
    await until(ws.client, ws.id, ['COMPLETED']);
    // A second instance waits for the same key: a replay must not resume it.
    const second = await start(ws.client, ws.workflowId, ws.order);
    await until(ws.client, second, ['WAITING']);
    const replays = await Promise.all([
      postSigned(ws.workspaceId, body, signature),
      postSigned(ws.workspaceId, body, `${signature},v1=00`),
      postSigned(ws.workspaceId, body, signature.split(',').reverse().join(', ')),
    ]);
    for (const replay of replays) await expectRefused(replay, 409, 'REPLAYED_SIGNATURE');
    expect((await instanceOf(ws.client, second)).status).toBe('WAITING');
    const done = await instanceOf(ws.client, ws.id);
    expect(done.events.filter((e) => e.event === 'wake')).toHaveLength(1);
    // The same event signed anew is a new call.
    const again = await postSigned(ws.workspaceId, body, signed(ws.secret, body, nowS() + 1));
    expect(await again.json()).toEqual({ resumedInstanceIds: [second], keptUntil: null });
  });

  test('replays racing each other: exactly one is accepted', async () => {
    const ws = await server.newWorkspace('signed race');
    const { secret } = await secretOf(ws.client);
    const body = eventBody(`race-${newOrder()}`);
    const signature = signed(secret, body);
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => postSigned(ws.workspaceId, body, signature)))).map((r) => r.status);
    expect(statuses.sort()).toEqual([200, 409, 409, 409, 409, 409]);
  });

  test('a refused event does not use up its signature: the same signed call may be retried', async () => {
    const ws = await server.newWorkspace('signed retry');
    const { secret } = await secretOf(ws.client);
    const body = JSON.stringify({ name: 'order.paid', key: 'k', payload: { text: 'x'.repeat(LIMITS.payloadBytes) } });
    const signature = signed(secret, body);
    await expectRefused(await postSigned(ws.workspaceId, body, signature), 413, 'PAYLOAD_TOO_LARGE');
    await expectRefused(await postSigned(ws.workspaceId, body, signature), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('a rotated secret replaces the old one at once; a revoked one leaves nothing that works', async () => {
    const ws = await waitingWorkspace('signed rotation');
    const body = eventBody(ws.key);
    const rotated = await secretOf(ws.client);
    expect(rotated.secret).not.toBe(ws.secret);
    await expectRefused(await postSigned(ws.workspaceId, body, signed(ws.secret, body)), 401, 'UNAUTHENTICATED');
    expect((await instanceOf(ws.client, ws.id)).status).toBe('WAITING');

    expect((await ws.client.request(RevokeEventSigningSecretDocument)).revokeEventSigningSecret).toBe(true);
    expect((await ws.client.request(RevokeEventSigningSecretDocument)).revokeEventSigningSecret).toBe(false);
    for (const secret of [ws.secret, rotated.secret]) {
      await expectRefused(await postSigned(ws.workspaceId, body, signed(secret, body)), 401, 'UNAUTHENTICATED');
    }
    expect((await instanceOf(ws.client, ws.id)).status).toBe('WAITING');
    // The API key still works for the same workspace.
    const viaKey = await fetch(`${origin()}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ws.apiKey}` },
      body,
    });
    expect(await viaKey.json()).toEqual({ resumedInstanceIds: [ws.id], keptUntil: null });
  });

  test('the body is bounded before it is parsed or checked (413); the content type first (415); other checks as POST /events', async () => {
    const ws = await server.newWorkspace('signed bounds');
    const { secret } = await secretOf(ws.client);
    const huge = `{"name":"e","key":"k","payload":"${'x'.repeat(server.config.WEBHOOK_MAX_BODY_BYTES)}"}`;
    await expectRefused(await postSigned(ws.workspaceId, huge, signed(secret, huge)), 413, 'PAYLOAD_TOO_LARGE');
    await expectRefused(await postSigned('not-a-uuid', huge, undefined), 413, 'PAYLOAD_TOO_LARGE');
    await expectRefused(await postSigned(ws.workspaceId, 'name=e', signed(secret, 'name=e'), { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    for (const [body, status, code] of [
      ['{"name":', 400, 'MALFORMED_JSON'],
      ['["e","k"]', 400, 'BAD_REQUEST'],
      ['{"name":"e"}', 400, 'BAD_REQUEST'],
      ['{"name":"a\\nb","key":"k"}', 400, 'BAD_REQUEST'],
    ] as const) {
      await expectRefused(await postSigned(ws.workspaceId, body, signed(secret, body)), status, code);
    }
    const res = await fetch(`${origin()}/events/${ws.workspaceId}`);
    expect(res.headers.get('allow')).toBe('POST');
    await expectRefused(res, 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('event signing secrets through GraphQL', () => {
  test('createEventSigningSecret shows the secret once; workspace.eventSigning shows the URL and date, never the secret', async () => {
    const ws = await server.newWorkspace('signing graphql');
    expect((await ws.client.request(WorkspaceEventSigningDocument)).workspace).toEqual({ id: ws.workspaceId, eventSigning: null });
    const created = (await ws.client.request(CreateEventSigningSecretDocument)).createEventSigningSecret;
    expect(created).toEqual({ secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/), url: `http://localhost:${server.app.port}/events/${ws.workspaceId}`, createdAt: expect.any(String) });
    const { body } = await ws.client.raw('{ workspace { eventSigning { url createdAt } } }');
    expect(body.data).toEqual({ workspace: { eventSigning: { url: created.url, createdAt: created.createdAt } } });
    expect(JSON.stringify(body)).not.toContain(created.secret);
    // The type has no field that could show it.
    const secretField = await ws.client.raw('{ workspace { eventSigning { secret } } }');
    expect(secretField.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const rotated = (await ws.client.request(CreateEventSigningSecretDocument)).createEventSigningSecret;
    expect(rotated.secret).not.toBe(created.secret);
    expect(new Date(rotated.createdAt).getTime()).toBeGreaterThanOrEqual(new Date(created.createdAt).getTime());
    expect((await ws.client.request(WorkspaceEventSigningDocument)).workspace.eventSigning?.createdAt).toBe(rotated.createdAt);
    expect((await ws.client.request(RevokeEventSigningSecretDocument)).revokeEventSigningSecret).toBe(true);
    expect((await ws.client.request(WorkspaceEventSigningDocument)).workspace.eventSigning).toBeNull();
  });

  test("only an authenticated caller can make or revoke a secret, and only its own workspace's", async () => {
    const mine = await server.newWorkspace('signing mine');
    const theirs = await server.newWorkspace('signing theirs');
    const { secret } = (await mine.client.request(CreateEventSigningSecretDocument)).createEventSigningSecret;
    for (const anonymous of [new GraphQLClient(server.url), new GraphQLClient(server.url, 'wfb_unknown_key')]) {
      for (const query of ['mutation { createEventSigningSecret { secret } }', 'mutation { revokeEventSigningSecret }', '{ workspace { eventSigning { url } } }']) {
        const { body } = await anonymous.raw(query);
        expect(body.data ?? null, query).toBeNull();
        expect(body.errors?.[0]?.extensions?.code, query).toBe('UNAUTHENTICATED');
      }
    }
    // Their revoke and create touch their workspace only: mine keeps its secret.
    expect((await theirs.client.request(RevokeEventSigningSecretDocument)).revokeEventSigningSecret).toBe(false);
    const theirSecret = (await theirs.client.request(CreateEventSigningSecretDocument)).createEventSigningSecret;
    expect(theirSecret.url).toContain(theirs.workspaceId);
    expect((await mine.client.request(WorkspaceEventSigningDocument)).workspace.eventSigning).not.toBeNull();
    const body = JSON.stringify({ name: 'order.paid', key: `mine-${newOrder()}` });
    const res = await fetch(`${new URL(server.url).origin}/events/${mine.workspaceId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-wfb-signature': signWebhookBody({ secret, timestamp: Math.floor(Date.now() / 1000), body }) },
      body,
    });
    expect(res.status).toBe(200);
  });
});
