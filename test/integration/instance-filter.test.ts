import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  MAX_TRIGGER_INPUT_PATH_CHARS,
  MAX_TRIGGER_INPUT_PATH_KEYS,
  MAX_TRIGGER_INPUT_VALUE_CHARS,
} from '../../src/domain/trigger-input-match.js';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstancesDocument,
  PublishWorkflowDocument,
  StartWorkflowDocument,
  type TriggerInputFilter,
} from '../../src/sdk/operations.generated.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';

/** `workflowInstances(triggerInput:)` through GraphQL: what it finds, in whose workspace, and what it refuses. */

let server: TestServer;
let client: GraphQLClient;
let workflowId: string;
const started = new Map<string, string>();

beforeAll(async () => {
  server = await startTestServer();
  client = server.client;
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Filtered' } });
  workflowId = createWorkflow.id;
  await client.request(ApplyEditsDocument, {
    workflowId,
    edits: [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'e', type: 'end', name: 'End', after: { stepId: 't', port: 'next' } } },
    ],
  });
  await client.request(PublishWorkflowDocument, { workflowId });
  const inputs: Record<string, unknown> = {
    first: { message: { id: 'SM123', from: '+15550100' } },
    second: { message: { id: 'SM123', from: '+15550101' } },
    other: { message: { id: 'SM456' } },
    numeric: { order: { total: 42, paid: true } },
  };
  for (const [name, input] of Object.entries(inputs)) {
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input });
    started.set(startWorkflow.instance.id, name);
  }
});
afterAll(async () => {
  await server?.stop();
});

const list = async (triggerInput: TriggerInputFilter, options: { first?: number; after?: string; c?: GraphQLClient } = {}) =>
  (await (options.c ?? client).request(InstancesDocument, { workflowId, triggerInput, first: options.first ?? 50, ...(options.after ? { after: options.after } : {}) }))
    .workflowInstances;

describe('workflowInstances(triggerInput:)', () => {
  test('finds the instances whose trigger input holds the value at the path, paged newest first', async () => {
    const names = async (f: TriggerInputFilter) => (await list(f)).edges.map((e) => started.get(e.node.id));
    expect(await names({ path: 'message.id', equals: 'SM123' })).toEqual(['second', 'first']);
    expect(await names({ path: 'message.id', equals: 'SM456' })).toEqual(['other']);
    expect(await names({ path: 'order.total', equals: 42 })).toEqual(['numeric']);
    expect(await names({ path: 'order.total', equals: '42' })).toEqual([]);
    expect(await names({ path: 'order.paid', equals: true })).toEqual(['numeric']);
    expect(await names({ path: 'message.id', equals: 'nothing' })).toEqual([]);

    const firstPage = await list({ path: 'message.id', equals: 'SM123' }, { first: 1 });
    expect(firstPage).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
    const secondPage = await list({ path: 'message.id', equals: 'SM123' }, { first: 1, after: firstPage.pageInfo.endCursor! });
    expect(secondPage).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: false } });
    expect([...firstPage.edges, ...secondPage.edges].map((e) => started.get(e.node.id))).toEqual(['second', 'first']);
  });

  test("another workspace cannot list this workflow's instances by their input", async () => {
    const other = await server.newWorkspace('filter outsider');
    const err = await other.client.expectError(InstancesDocument, { workflowId, triggerInput: { path: 'message.id', equals: 'SM123' } });
    expect(err.extensions?.code).toBe('NOT_FOUND');
  });

  const tooLong = 'k'.repeat(MAX_TRIGGER_INPUT_PATH_CHARS + 1);
  const tooDeep = Array.from({ length: MAX_TRIGGER_INPUT_PATH_KEYS + 1 }, () => 'a').join('.');
  test.each<[string, TriggerInputFilter, string, RegExp]>([
    ['an empty path', { path: '', equals: 'x' }, 'triggerInput.path', /empty/],
    ['an empty key', { path: 'message..id', equals: 'x' }, 'triggerInput.path', /empty key/],
    ['a dot at the end', { path: 'message.', equals: 'x' }, 'triggerInput.path', /empty key/],
    ['a path too long', { path: tooLong, equals: 'x' }, 'triggerInput.path', /longer than/],
    ['a path too deep', { path: tooDeep, equals: 'x' }, 'triggerInput.path', /more than/],
    ['a control character', { path: 'message.\u0001id', equals: 'x' }, 'triggerInput.path', /control character/],
    ['a line break', { path: 'message\n.id', equals: 'x' }, 'triggerInput.path', /control character/],
    ['a NUL character in the path', { path: 'message.\u0000', equals: 'x' }, 'triggerInput.path', /NUL/],
    ['a NUL character in the value', { path: 'message.id', equals: 'S\u0000M' }, 'triggerInput.equals', /NUL/],
    ['an object value', { path: 'message', equals: { id: 'SM123' } }, 'triggerInput.equals', /string, a number or a boolean/],
    ['an array value', { path: 'message.id', equals: ['SM123'] }, 'triggerInput.equals', /string, a number or a boolean/],
    ['a value too long', { path: 'message.id', equals: 'v'.repeat(MAX_TRIGGER_INPUT_VALUE_CHARS + 1) }, 'triggerInput.equals', /longer than/],
  ])('%s is BAD_USER_INPUT naming its field', async (_what, triggerInput, field, message) => {
    const err = await client.expectError(InstancesDocument, { workflowId, triggerInput });
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(err.message).toMatch(message);
    expect(err.status).not.toBe(500);
  });

  test('a null or missing value is refused by the type (JSON!), naming the field in the message', async () => {
    for (const triggerInput of [{ path: 'message.id', equals: null }, { path: 'message.id' }]) {
      const { body } = await client.raw(print(InstancesDocument), { workflowId, triggerInput });
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(/triggerInput|equals/);
    }
  });

  test('a filter given as a literal is checked the same', async () => {
    const { body } = await client.raw(
      `query($id: ID!) { workflowInstances(workflowId: $id, triggerInput: { path: "a..b", equals: "x" }) { totalCount } }`,
      { id: workflowId },
    );
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'triggerInput.path' });
  });
});
