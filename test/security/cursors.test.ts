import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { wsClient } from '../support/ws-client.js';
import { expectNothingInternal, type WireError } from '../integration/hardening/hardening-support.js';

/**
 * Cursors are opaque and checked: whatever a client puts in `after` (or a subscription's `since`),
 * the answer is BAD_USER_INPUT naming the argument, never a statement that reaches SQL and fails.
 */

let server: TestServer;
let workflowId: string;
let instanceId: string;

beforeAll(async () => {
  server = await startTestServer();
  const { client } = server;
  const { createWorkflow } = await client.request<{ createWorkflow: { id: string } }, Record<string, unknown>>(
    'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
    { input: { name: 'Cursor target' } },
  );
  workflowId = createWorkflow.id;
  await client.request('mutation($id: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $id, edits: $edits) { label } }', {
    id: workflowId,
    edits: [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 's', type: 'sms.send', name: 'SMS', config: { to: '+15550100', text: 'Hi' } } },
      { addStep: { id: 'e', type: 'end', name: 'End' } },
      { connectSteps: { from: 't', to: 's' } },
      { connectSteps: { from: 's', to: 'e' } },
    ],
  });
  await client.request('mutation($id: ID!) { publishWorkflow(workflowId: $id) { version { version } } }', { id: workflowId });
  const started = await client.request<{ startWorkflow: { instance: { id: string } } }, Record<string, unknown>>(
    'mutation($id: ID!) { startWorkflow(workflowId: $id) { instance { id } } }',
    { id: workflowId },
  );
  instanceId = started.startWorkflow.instance.id;
  await waitFor(
    () =>
      client.request<{ workflowInstance: { status: string } }, Record<string, unknown>>('query($id: ID!) { workflowInstance(id: $id) { status } }', {
        id: instanceId,
      }),
    (r) => r.workflowInstance.status === 'COMPLETED',
    { what: 'the instance to complete' },
  );
});

afterAll(async () => {
  await server?.stop();
});

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Cursors no server issued: each must be refused before it reaches a statement. */
const CRAFTED: readonly [string, string][] = [
  ['not base64url', '!!!not-a-cursor!!!'],
  ['empty', ''],
  ['not JSON', b64('select 1')],
  ['a JSON object', b64('{"a":1}')],
  ['an empty array', b64('[]')],
  ['a string where a number goes', b64('["ten"]')],
  ['a number where a string goes', b64('[1, 2]')],
  ['a fraction', b64('[1.5]')],
  ['an infinite number', b64('[1e400]')],
  ['a number past int8', b64('[99999999999999999999]')],
  ['a time that is no time', b64('["yesterday", "5b7e4c1e-1a1f-4a53-9d4b-2f1f8c1a1f00"]')],
  ['a month 13', b64('["2024-13-01T00:00:00.000000Z", "5b7e4c1e-1a1f-4a53-9d4b-2f1f8c1a1f00"]')],
  ['an id that is no UUID', b64('["2024-01-01T00:00:00.000000Z", "not-a-uuid"]')],
  ['a NUL character', b64('["a\\u0000b", "next"]')],
  ['a lone surrogate', b64('["\\ud800", "next"]')],
  ['a very long cursor', b64(JSON.stringify(['x'.repeat(100_000), 'next']))],
];

/** Each paginated list, as a query taking `$after`. */
const CONNECTIONS: readonly [string, string, () => Record<string, unknown>][] = [
  ['workflows', 'query($after: String) { workflows(after: $after) { edges { node { id } } } }', () => ({})],
  ['steps', 'query($id: ID!, $after: String) { workflow(id: $id) { steps(after: $after) { edges { node { id } } } } }', () => ({ id: workflowId })],
  ['edges', 'query($id: ID!, $after: String) { workflow(id: $id) { edges(after: $after) { edges { node { from } } } } }', () => ({ id: workflowId })],
  ['history', 'query($id: ID!, $after: String) { workflow(id: $id) { history(after: $after) { edges { node { seq } } } } }', () => ({ id: workflowId })],
  ['versions', 'query($id: ID!, $after: String) { workflow(id: $id) { versions(after: $after) { edges { node { version } } } } }', () => ({ id: workflowId })],
  [
    'instances',
    'query($id: ID!, $after: String) { workflowInstances(workflowId: $id, after: $after) { edges { node { id } } } }',
    () => ({ id: workflowId }),
  ],
  [
    'messages',
    'query($id: ID!, $after: String) { workflowInstance(id: $id) { messages(after: $after) { edges { node { id } } } } }',
    () => ({ id: instanceId }),
  ],
];

/** The endCursor each list gives for its first page (of one), to hand to another list. */
async function firstCursor(query: string, variables: Record<string, unknown>): Promise<string> {
  const withFirst = query.replace('(after: $after', '(first: 1, after: $after').replace('edges { node', 'pageInfo { endCursor } edges { node');
  const { body } = await server.client.raw(withFirst, variables);
  const found = JSON.stringify(body.data).match(/"endCursor":"([^"]+)"/);
  if (!found) throw new Error(`no cursor in ${JSON.stringify(body)}`);
  return found[1]!;
}

function expectRefusedAfter(status: number, errors: readonly WireError[] | undefined, text: string): void {
  expect(status, text).not.toBe(500);
  expect(errors?.[0]?.extensions, text).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  expect(errors?.[0]?.message).toMatch(/cursor/i);
  expectNothingInternal(text);
}

describe.each(CONNECTIONS)('%s: a crafted `after`', (_name, query, variables) => {
  test.each(CRAFTED)('%s is BAD_USER_INPUT naming after', async (_what, after) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: JSON.stringify({ query, variables: { ...variables(), after } }),
    });
    const text = await res.text();
    const body = JSON.parse(text) as { errors?: WireError[] };
    expectRefusedAfter(res.status, body.errors, text);
  });

  test('the endCursor of another list is refused', async () => {
    const own = await firstCursor(query, variables());
    const others = await Promise.all(CONNECTIONS.filter(([, q]) => q !== query).map(([, q, v]) => firstCursor(q, v())));
    for (const other of others.filter((o) => o !== own)) {
      const { status, body } = await server.client.raw(query, { ...variables(), after: other });
      expectRefusedAfter(status, body.errors as WireError[] | undefined, JSON.stringify(body));
    }
  });
});

describe('subscriptions: a crafted `since`', () => {
  const subscribe = (since: string) =>
    new Promise<readonly WireError[] | undefined>((resolve) => {
      const socket = wsClient(server.url, server.apiKey);
      const stop = socket.subscribe(
        { query: 'subscription($id: ID!, $since: String) { workflowInstanceEvents(workflowId: $id, since: $since) { cursor } }', variables: { id: workflowId, since } },
        {
          next: (value) => {
            stop();
            void socket.dispose();
            resolve(value.errors as readonly WireError[] | undefined);
          },
          error: (err) => {
            void socket.dispose();
            resolve(Array.isArray(err) ? (err as WireError[]) : [{ message: String(err) }]);
          },
          complete: () => {
            void socket.dispose();
            resolve(undefined);
          },
        },
      );
    });

  test.each([
    ['past 64 bits', b64('99999999999999999999.99999999999999999999.1')],
    ['past the largest event cursor', b64('1.2.999999999999999999')],
    ['garbage', '!!!'],
  ])('%s is BAD_USER_INPUT naming since', async (_what, since) => {
    const errors = await subscribe(since);
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'since' });
  });
});
