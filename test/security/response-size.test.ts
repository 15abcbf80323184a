import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { expectNothingInternal, type WireError } from '../integration/hardening/hardening-support.js';
import { RESPONSIVE_WITHIN_MS, startResponsivenessProbe } from './support/responsiveness-probe.js';

/**
 * The attack: a workflow of 405 steps whose configs are 63 KB each, read through many aliases of
 * `steps(first: $n)`. The page size as a variable used to escape the cost limit, and answers had no
 * size bound (399 MB each; 6 at once took the server to 4.1 GB; 30 aliases crashed with "Invalid
 * string length"). Now the cost counts `first` however it is given, and an answer over
 * GRAPHQL_MAX_RESPONSE_BYTES is refused with LIMIT_EXCEEDED before its configs are read, over HTTP
 * and over WebSocket, while another client's `{ __typename }` keeps answering.
 */

const STEPS = 405;
const BODY = 'x'.repeat(63_000);

let server: TestServer;
let workflowId: string;
/** A server whose answers may be at most 4 KiB and whose cost limit is out of the way. */
let small: TestServer;
let smallWorkflowId: string;
let smallRunnableId: string;
let smallInstanceId: string;

async function createWorkflow(s: TestServer, name: string): Promise<string> {
  const made = await s.client.request<{ createWorkflow: { id: string } }, Record<string, unknown>>(
    'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
    { input: { name } },
  );
  return made.createWorkflow.id;
}

const edit = (s: TestServer, id: string, edits: unknown[]) =>
  s.client.request('mutation($id: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $id, edits: $edits) { label } }', { id, edits });

beforeAll(async () => {
  [server, small] = await Promise.all([
    startTestServer(),
    startTestServer({ env: { GRAPHQL_MAX_RESPONSE_BYTES: '4096', GRAPHQL_MAX_COST: '1000000000' } }),
  ]);
  workflowId = await createWorkflow(server, 'Big configs');
  const step = (i: number) => ({
    addStep: { id: `s${i}`, type: 'http.request', name: `Step ${i}`, config: { method: 'POST', url: 'https://example.com/hook', body: BODY } },
  });
  // 15 configs of 63 KB per batch stay under the 1 MiB request body limit.
  for (let i = 0; i < STEPS; i += 15) await edit(server, workflowId, Array.from({ length: Math.min(15, STEPS - i) }, (_, k) => step(i + k)));
  // A trigger and a chain through every step, so that it publishes as a 25 MB version.
  const ids = ['t', ...Array.from({ length: STEPS }, (_, i) => `s${i}`)];
  await edit(server, workflowId, [{ addStep: { id: 't', type: 'trigger.manual', name: 'Start' } }]);
  for (let i = 0; i < ids.length - 1; i += 100) {
    await edit(server, workflowId, ids.slice(i, i + 101).slice(0, -1).map((from, k) => ({ connectSteps: { from, to: ids[i + k + 1] } })));
  }
  await server.client.request('mutation($id: ID!) { publishWorkflow(workflowId: $id) { version { version } } }', { id: workflowId });

  // On the small server: a draft of ten 63 KB configs, and a published workflow to run.
  smallWorkflowId = await createWorkflow(small, 'Ten big configs');
  await edit(small, smallWorkflowId, Array.from({ length: 10 }, (_, i) => ({ addStep: { id: `big${i}`, type: 'http.request', name: `Big ${i}`, config: { url: 'https://example.com', method: 'POST', body: BODY } } })));
  smallRunnableId = await createWorkflow(small, 'Runnable');
  await edit(small, smallRunnableId, [
    { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
    { addStep: { id: 'e', type: 'end', name: 'End' } },
    { connectSteps: { from: 't', to: 'e' } },
  ]);
  await small.client.request('mutation($id: ID!) { publishWorkflow(workflowId: $id) { version { version } } }', { id: smallRunnableId });
  const started = await small.client.request<{ startWorkflow: { instance: { id: string } } }, Record<string, unknown>>(
    'mutation($id: ID!, $input: JSON) { startWorkflow(workflowId: $id, input: $input) { instance { id } } }',
    { id: smallRunnableId, input: { blob: 'y'.repeat(10_000) } },
  );
  smallInstanceId = started.startWorkflow.instance.id;
  await waitFor(
    () =>
      small.client.request<{ workflowInstance: { status: string } }, Record<string, unknown>>('query($id: ID!) { workflowInstance(id: $id) { status } }', {
        id: smallInstanceId,
      }),
    (r) => r.workflowInstance.status === 'COMPLETED',
    { what: 'the instance to complete' },
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([server?.stop(), small?.stop()]);
});

/** `count` aliases of the workflow's steps with their configs; `first` as given (`$n`, a literal, or left out). */
const aliasedSteps = (count: number, first: string) =>
  `query($id: ID!${first === '$n' ? ', $n: Int' : ''}) { workflow(id: $id) { ${Array.from(
    { length: count },
    (_, i) => `a${i}: steps${first ? `(first: ${first})` : ''} { edges { node { id config } } }`,
  ).join(' ')} } }`;

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly errors?: readonly WireError[];
  readonly data?: unknown;
}

async function post(s: TestServer, body: string): Promise<Answer> {
  const res = await fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.apiKey}` },
    body,
  });
  const text = await res.text();
  const json = JSON.parse(text) as { errors?: WireError[]; data?: unknown };
  return { status: res.status, text: text.slice(0, 2000), errors: json.errors, data: json.data };
}

function expectLimit(answer: Answer, limit: string, max?: number): void {
  expect(answer.status, answer.text).not.toBe(500);
  expect(answer.errors, answer.text).toHaveLength(1);
  expect(answer.errors?.[0]?.extensions, answer.text).toMatchObject({ code: 'LIMIT_EXCEEDED', limit, ...(max ? { max } : {}) });
  expect(answer.data ?? null).toBeNull();
  expectNothingInternal(answer.text);
}

/**
 * Runs `attack` with the probe running, and checks the probe's answers. The attack runs once
 * before the probe starts: the first run of a code path compiles it, which is not the attack.
 */
async function whileProbing<T>(s: TestServer, attack: () => Promise<T>): Promise<T> {
  await attack();
  const probe = startResponsivenessProbe({ url: s.url, apiKey: s.apiKey });
  await probe.ready;
  const result = await attack();
  const report = await probe.stop();
  expect(report.failures).toEqual([]);
  expect(report.maxMs, `probe answered in at most ${report.maxMs.toFixed(0)} ms`).toBeLessThan(RESPONSIVE_WITHIN_MS);
  return result;
}

describe('the cost counts every page size', () => {
  test('16 aliases of steps(first: $n), $n = 405: LIMIT_EXCEEDED maxCost before anything runs, six at once, server responsive', async () => {
    const body = JSON.stringify({ query: aliasedSteps(16, '$n'), variables: { id: workflowId, n: STEPS } });
    const answers = await whileProbing(server, () => Promise.all(Array.from({ length: 6 }, () => post(server, body))));
    for (const answer of answers) {
      expectLimit(answer, 'maxCost', 100_000);
      expect(answer.status).toBe(400);
    }
  });

  test('the same page size written in the document costs the same', async () => {
    const literal = await post(server, JSON.stringify({ query: aliasedSteps(16, String(STEPS)), variables: { id: workflowId } }));
    const variable = await post(server, JSON.stringify({ query: aliasedSteps(16, '$n'), variables: { id: workflowId, n: STEPS } }));
    expectLimit(literal, 'maxCost');
    expect(variable.errors?.[0]?.message).toBe(literal.errors?.[0]?.message);
  });

  test('a first left out counts as its default (50)', async () => {
    const tight = await startTestServer({ env: { GRAPHQL_MAX_COST: '100' } });
    try {
      const cheap = await post(tight, JSON.stringify({ query: '{ workflows(first: 1) { edges { node { id } } } }' }));
      expect(cheap.errors).toBeUndefined();
      expectLimit(await post(tight, JSON.stringify({ query: '{ workflows { edges { node { id name } } } }' })), 'maxCost', 100);
      expectLimit(
        await post(tight, JSON.stringify({ query: 'query($n: Int) { workflows(first: $n) { edges { node { id name } } } }', variables: { n: 500 } })),
        'maxCost',
        100,
      );
    } finally {
      await tight.stop();
    }
  });

  test('a first past MAX_PAGE_SIZE is still BAD_USER_INPUT naming first, not a cost refusal', async () => {
    const answer = await post(server, JSON.stringify({ query: 'query($id: ID!) { workflow(id: $id) { steps(first: 1000) { edges { node { id } } } } }', variables: { id: workflowId } }));
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first', max: 500 });
  });
});

describe('answers have a size bound (GRAPHQL_MAX_RESPONSE_BYTES, 16 MiB by default)', () => {
  test('one page of 405 configs (25 MB): LIMIT_EXCEEDED maxResponseBytes, six at once, server responsive', async () => {
    const body = JSON.stringify({ query: aliasedSteps(1, '$n'), variables: { id: workflowId, n: STEPS } });
    const answers = await whileProbing(server, () => Promise.all(Array.from({ length: 6 }, () => post(server, body))));
    for (const answer of answers) expectLimit(answer, 'maxResponseBytes', 16 * 1024 * 1024);
    expect(answers[0]!.errors?.[0]?.message).toMatch(/fewer items/);
    expect(answers[0]!.status).toBe(200);
  });

  test('3 aliases of 200 configs (38 MB together, each within the bound): LIMIT_EXCEEDED maxResponseBytes, six at once, server responsive', async () => {
    const body = JSON.stringify({ query: aliasedSteps(3, '200'), variables: { id: workflowId } });
    const answers = await whileProbing(server, () => Promise.all(Array.from({ length: 6 }, () => post(server, body))));
    for (const answer of answers) expectLimit(answer, 'maxResponseBytes');
  });

  test('an answer within the bound is given whole', async () => {
    const answer = await post(server, JSON.stringify({ query: aliasedSteps(1, '$n'), variables: { id: workflowId, n: 200 } }));
    expect(answer.errors).toBeUndefined();
    const edges = (answer.data as { workflow: { a0: { edges: { node: { config: { body: string } } }[] } } }).workflow.a0.edges;
    expect(edges).toHaveLength(200);
    expect(edges.every((e) => e.node.config.body === BODY)).toBe(true);
  });

  test('with the cost limit raised out of the way, 30 aliases of every step are refused, not crashed', async () => {
    const answer = await post(small, JSON.stringify({ query: aliasedSteps(30, '$n'), variables: { id: smallWorkflowId, n: 500 } }));
    expectLimit(answer, 'maxResponseBytes', 4096);
  });

  test('a mutation whose answer is too large keeps its change, and says the answer was refused', async () => {
    const answer = await post(
      small,
      JSON.stringify({
        query: 'mutation($id: ID!) { updateWorkflow(id: $id, input: { description: "changed" }) { workflow { description steps(first: 20) { edges { node { config } } } } } }',
        variables: { id: smallWorkflowId },
      }),
    );
    expectLimit(answer, 'maxResponseBytes');
    const after = await post(small, JSON.stringify({ query: 'query($id: ID!) { workflow(id: $id) { description } }', variables: { id: smallWorkflowId } }));
    expect(after.data).toEqual({ workflow: { description: 'changed' } });
  });

  test('large values the answer does not ask for are not counted', async () => {
    const answer = await post(small, JSON.stringify({ query: 'query($id: ID!) { workflow(id: $id) { steps(first: 20) { edges { node { id name } } } } }', variables: { id: smallWorkflowId } }));
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toMatchObject({ workflow: { steps: { edges: expect.arrayContaining([{ node: { id: 'big0', name: 'Big 0' } }]) } } });
  });

  test("a version graph (25 MB) is refused before it is read, six at once, server responsive; a version's head is not weighed", async () => {
    const version = await post(
      small,
      JSON.stringify({ query: 'query($id: ID!) { workflowVersion(workflowId: $id, version: 1) { version steps { id config } edges { from } } }', variables: { id: smallRunnableId } }),
    );
    expect(version.errors).toBeUndefined();
    expect(version.data).toMatchObject({ workflowVersion: { version: 1, steps: [{ id: 't' }, { id: 'e' }], edges: [{ from: 't' }] } });
    const query = 'query($id: ID!) { workflowVersion(workflowId: $id, version: 1) { version steps { config } } }';
    const big = await whileProbing(server, () => Promise.all(Array.from({ length: 6 }, () => post(server, JSON.stringify({ query, variables: { id: workflowId } })))));
    for (const answer of big) expectLimit(answer, 'maxResponseBytes');
    const head = await post(server, JSON.stringify({ query: 'query($id: ID!) { workflowVersion(workflowId: $id, version: 1) { version draftRevision } }', variables: { id: workflowId } }));
    expect(head.errors).toBeUndefined();
  });

  test('a trigger input over the bound is refused, and not read when not asked for', async () => {
    const input = await post(
      small,
      JSON.stringify({ query: 'query($id: ID!) { workflowInstances(workflowId: $id) { edges { node { id input } } } }', variables: { id: smallRunnableId } }),
    );
    expectLimit(input, 'maxResponseBytes');
    const withoutInput = await post(
      small,
      JSON.stringify({ query: 'query($id: ID!) { workflowInstances(workflowId: $id) { edges { node { id status } } } }', variables: { id: smallRunnableId } }),
    );
    expect(withoutInput.errors).toBeUndefined();
  });
});

/** A raw graphql-transport-ws socket, acknowledged. */
async function openSocket(s: TestServer): Promise<WebSocket> {
  const socket = new WebSocket(s.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const acked = new Promise((resolve) => socket.once('message', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${s.apiKey}` } }));
  expect(JSON.parse(String(await acked))).toMatchObject({ type: 'connection_ack' });
  return socket;
}

/** Collects the `next` payloads of operation `id` until `until` says enough, or it errors or completes. */
function messagesOf(
  socket: WebSocket,
  id: string,
  until: (nexts: readonly { data?: unknown; errors?: WireError[] }[]) => boolean = () => false,
): Promise<{ nexts: { data?: unknown; errors?: WireError[] }[]; errors?: WireError[]; bytes: number }> {
  return new Promise((resolve, reject) => {
    const nexts: { data?: unknown; errors?: WireError[] }[] = [];
    let bytes = 0;
    const onMessage = (raw: WebSocket.RawData) => {
      const text = String(raw);
      const message = JSON.parse(text) as { id?: string; type: string; payload?: unknown };
      if (message.id !== id) return;
      bytes += text.length;
      const done = (errors?: WireError[]) => {
        socket.off('message', onMessage);
        resolve({ nexts, errors, bytes });
      };
      if (message.type === 'next') {
        nexts.push(message.payload as { data?: unknown; errors?: WireError[] });
        if (until(nexts)) done();
      } else if (message.type === 'error') done(message.payload as WireError[]);
      else if (message.type === 'complete') done();
    };
    socket.on('message', onMessage);
    socket.once('close', (code, reason) => reject(new Error(`socket closed: ${code} ${String(reason)}`)));
  });
}

describe('over WebSocket', () => {
  test('16 aliases of steps(first: $n) on six sockets at once: LIMIT_EXCEEDED maxCost, server responsive', async () => {
    const sockets = await Promise.all(Array.from({ length: 6 }, () => openSocket(server)));
    try {
      const payload = JSON.stringify({ query: aliasedSteps(16, '$n'), variables: { id: workflowId, n: STEPS } });
      const results = await whileProbing(server, () =>
        Promise.all(
          sockets.map((socket) => {
            const answer = messagesOf(socket, 'attack');
            socket.send(`{"type":"subscribe","id":"attack","payload":${payload}}`);
            return answer;
          }),
        ),
      );
      for (const { errors } of results) expect(errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxCost' });
    } finally {
      for (const socket of sockets) socket.close();
    }
  });

  test('a query over a socket whose answer is too large: LIMIT_EXCEEDED maxResponseBytes, and the socket goes on', async () => {
    const socket = await openSocket(server);
    try {
      const answer = messagesOf(socket, 'big');
      socket.send(JSON.stringify({ type: 'subscribe', id: 'big', payload: { query: aliasedSteps(1, '$n'), variables: { id: workflowId, n: STEPS } } }));
      const { nexts, bytes } = await answer;
      expect(nexts).toHaveLength(1);
      expect(nexts[0]!.data ?? null).toBeNull();
      expect(nexts[0]!.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxResponseBytes', max: 16 * 1024 * 1024 });
      expect(bytes).toBeLessThan(2_000);
      const next = messagesOf(socket, 'after');
      socket.send(JSON.stringify({ type: 'subscribe', id: 'after', payload: { query: '{ workspace { id } }' } }));
      expect((await next).nexts).toEqual([{ data: { workspace: { id: server.workspaceId } } }]);
    } finally {
      socket.close();
    }
  });

  test('a subscription event whose answer is too large is LIMIT_EXCEEDED, and the subscription goes on', async () => {
    const socket = await openSocket(small);
    try {
      const events = messagesOf(socket, 'sub', (nexts) => nexts.length >= 3);
      socket.send(
        JSON.stringify({
          type: 'subscribe',
          id: 'sub',
          payload: {
            query: 'subscription($id: ID!) { instanceUpdated(instanceId: $id, since: 0) { seq instance { input } } }',
            variables: { id: smallInstanceId },
          },
        }),
      );
      const { nexts } = await events;
      for (const next of nexts) {
        expect(next.data ?? null).toBeNull();
        expect(next.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxResponseBytes', max: 4096 });
      }
      const small_ = messagesOf(socket, 'fits', (nexts) => nexts.length >= 1);
      socket.send(
        JSON.stringify({
          type: 'subscribe',
          id: 'fits',
          payload: { query: 'subscription($id: ID!) { instanceUpdated(instanceId: $id, since: 0) { seq } }', variables: { id: smallInstanceId } },
        }),
      );
      expect((await small_).nexts[0]).toEqual({ data: { instanceUpdated: { seq: 1 } } });
    } finally {
      socket.close();
    }
  });
});
