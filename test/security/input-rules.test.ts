import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import WebSocket from 'ws';
import { expectNothingInternal, type WireError } from '../integration/hardening/hardening-support.js';

/**
 * One input rule for every transport (domain/input.rules.ts): NUL characters, lone surrogates and
 * JSON nested deeper than 128 are refused in GraphQL arguments as they are in webhook bodies, with
 * BAD_USER_INPUT naming the argument, over HTTP and over WebSocket, and nothing is stored.
 */

let server: TestServer;
let workflowId: string;
let publishedId: string;

beforeAll(async () => {
  server = await startTestServer();
  const made = await server.client.request<{ createWorkflow: { id: string } }, Record<string, unknown>>(
    'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
    { input: { name: 'Target' } },
  );
  workflowId = made.createWorkflow.id;
  const published = await server.client.request<{ createWorkflow: { id: string } }, Record<string, unknown>>(
    'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
    { input: { name: 'Startable' } },
  );
  publishedId = published.createWorkflow.id;
  await server.client.request('mutation($id: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $id, edits: $edits) { label } }', {
    id: publishedId,
    edits: [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'e', type: 'end', name: 'End' } },
      { connectSteps: { from: 't', to: 'e' } },
    ],
  });
  await server.client.request('mutation($id: ID!) { publishWorkflow(workflowId: $id) { version { version } } }', { id: publishedId });
});

afterAll(async () => {
  await server?.stop();
});

/**
 * JSON text nested `levels` deep. Written out rather than stringified: V8's JSON.stringify recurses
 * and a client's runs out of stack near 5,000 levels; the server must not depend on that.
 */
const nestedJson = (levels: number): string => `${'{"a":'.repeat(levels)}"leaf"${'}'.repeat(levels)}`;

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';

interface Case {
  readonly query: string;
  readonly variables: () => Record<string, unknown>;
  /** The variables as JSON text, when JSON.stringify cannot write them. */
  readonly variablesJson?: () => string;
  /** `extensions.field` expected. */
  readonly field: string;
}

const CASES: readonly [string, Case][] = [
  ['a NUL in a workflow name', { query: 'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }', variables: () => ({ input: { name: NUL } }), field: 'input.name' }],
  ['a lone surrogate in a workflow name', { query: 'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }', variables: () => ({ input: { name: LONE } }), field: 'input.name' }],
  [
    'a NUL in a step config value',
    {
      query: 'mutation($id: ID!, $input: AddStepInput!) { addStep(workflowId: $id, input: $input) { label } }',
      variables: () => ({ id: workflowId, input: { type: 'sms.send', name: 'S', config: { to: '+15550100', text: NUL } } }),
      field: 'input.config.text',
    },
  ],
  [
    'a lone surrogate in a step config',
    {
      query: 'mutation($id: ID!, $input: AddStepInput!) { addStep(workflowId: $id, input: $input) { label } }',
      variables: () => ({ id: workflowId, input: { type: 'sms.send', name: 'S', config: { to: '+15550100', text: LONE } } }),
      field: 'input.config.text',
    },
  ],
  [
    'a NUL in a config key',
    {
      query: 'mutation($id: ID!, $input: AddStepInput!) { addStep(workflowId: $id, input: $input) { label } }',
      variables: () => ({ id: workflowId, input: { type: 'http.request', name: 'H', config: { url: 'https://example.com', headers: { [NUL]: 'x' } } } }),
      field: 'input.config.headers',
    },
  ],
  [
    'a NUL inside a batch of edits',
    {
      query: 'mutation($id: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $id, edits: $edits) { label } }',
      variables: () => ({ id: workflowId, edits: [{ addStep: { type: 'end', name: 'ok' } }, { addStep: { type: 'end', name: NUL } }] }),
      field: 'edits.1.addStep.name',
    },
  ],
  ['a NUL in startWorkflow input', { query: 'mutation($id: ID!, $input: JSON) { startWorkflow(workflowId: $id, input: $input) { created } }', variables: () => ({ id: publishedId, input: { x: [NUL] } }), field: 'input.x.0' }],
  [
    'startWorkflow input nested 5,000 deep',
    {
      query: 'mutation($id: ID!, $input: JSON) { startWorkflow(workflowId: $id, input: $input) { created } }',
      variables: () => ({ id: publishedId }),
      variablesJson: () => `{"id":${JSON.stringify(publishedId)},"input":${nestedJson(5_000)}}`,
      field: 'input',
    },
  ],
  [
    'a NUL in an idempotency key',
    { query: 'mutation($id: ID!, $key: String) { startWorkflow(workflowId: $id, idempotencyKey: $key) { created } }', variables: () => ({ id: publishedId, key: NUL }), field: 'idempotencyKey' },
  ],
  ['a NUL in an API key name', { query: 'mutation($name: String!) { createApiKey(name: $name) { secret } }', variables: () => ({ name: NUL }), field: 'name' }],
  ['a lone surrogate in an id', { query: 'query($id: ID!) { workflow(id: $id) { id } }', variables: () => ({ id: LONE }), field: 'id' }],
  ['a NUL in a nested field argument', { query: 'query($id: ID!, $step: ID!) { workflow(id: $id) { step(id: $step) { id } } }', variables: () => ({ id: workflowId, step: NUL }), field: 'id' }],
  ['a NUL written into the document', { query: 'mutation { createWorkflow(input: { name: "a\\u0000b" }) { id } }', variables: () => ({}), field: 'input.name' }],
  [
    'a config written into the document, nested 200 deep',
    {
      query: `mutation($id: ID!) { addStep(workflowId: $id, input: { type: "end", name: "E", config: ${'{ a: '.repeat(200)}1${' }'.repeat(200)} }) { label } }`,
      variables: () => ({ id: workflowId }),
      field: 'input.config',
    },
  ],
];

function expectRefusal(errors: readonly WireError[] | undefined, field: string, text: string): void {
  expect(errors?.[0]?.extensions, text).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(errors?.[0]?.message).toMatch(/NUL|surrogate|nested deeper/);
  expectNothingInternal(text);
}

/** The request body (HTTP) or subscribe payload (WebSocket) of a case, as JSON text. */
const payloadJson = (c: Case): string =>
  `{"query":${JSON.stringify(c.query)},"variables":${c.variablesJson ? c.variablesJson() : JSON.stringify(c.variables())}}`;

const workflowNames = async () =>
  (await server.app.database.sql<{ name: string }[]>`select name from workflows where workspace_id = ${server.workspaceId}`).map((r) => r.name);
const stepCount = async () =>
  (await server.app.database.sql<{ n: number }[]>`select count(*)::int as n from workflow_steps where workflow_id = ${workflowId}`)[0]!.n;

describe('over HTTP', () => {
  test.each(CASES)('%s is BAD_USER_INPUT naming the argument, and nothing is stored', async (_what, c) => {
    const [names, steps] = [await workflowNames(), await stepCount()];
    // JSON.stringify writes a lone surrogate as the escape "\ud800", as any client would send it.
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: payloadJson(c),
    });
    const text = await res.text();
    expect(res.status, text).not.toBe(500);
    expectRefusal((JSON.parse(text) as { errors?: WireError[] }).errors, c.field, text);
    expect(await workflowNames()).toEqual(names);
    expect(await stepCount()).toBe(steps);
  });
});

/**
 * One operation over a raw graphql-transport-ws socket (the payload written as text, see
 * nestedJson): what ended it, `error` or `next` then `complete`.
 */
async function overSocket(socket: WebSocket, id: string, payload: string): Promise<{ errors?: readonly WireError[]; data?: unknown }> {
  return new Promise((resolve, reject) => {
    let data: unknown;
    const onMessage = (raw: WebSocket.RawData) => {
      const message = JSON.parse(String(raw)) as { id?: string; type: string; payload?: unknown };
      if (message.id !== id) return;
      const done = (result: { errors?: readonly WireError[]; data?: unknown }) => {
        socket.off('message', onMessage);
        resolve(result);
      };
      if (message.type === 'error') done({ errors: message.payload as WireError[] });
      else if (message.type === 'next') {
        const result = message.payload as { data?: unknown; errors?: WireError[] };
        if (result.errors) done({ errors: result.errors });
        else data = result.data;
      } else if (message.type === 'complete') done({ data });
    };
    socket.on('message', onMessage);
    socket.once('close', (code, reason) => reject(new Error(`socket closed: ${code} ${String(reason)}`)));
    socket.send(`{"type":"subscribe","id":${JSON.stringify(id)},"payload":${payload}}`);
  });
}

describe('over WebSocket', () => {
  let socket: WebSocket;
  beforeAll(async () => {
    socket = new WebSocket(server.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const acked = new Promise((resolve) => socket.once('message', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${server.apiKey}` } }));
    expect(JSON.parse(String(await acked))).toMatchObject({ type: 'connection_ack' });
  });
  afterAll(() => {
    socket.close();
  });

  let ids = 0;
  test.each(CASES)('%s is BAD_USER_INPUT naming the argument', async (_what, c) => {
    const { errors } = await overSocket(socket, `op${++ids}`, payloadJson(c));
    expectRefusal(errors, c.field, JSON.stringify(errors));
  });

  test('the socket stays open and serves the next operation', async () => {
    const { data } = await overSocket(socket, 'last', JSON.stringify({ query: '{ workspace { id } }' }));
    expect(data).toEqual({ workspace: { id: server.workspaceId } });
  });
});
