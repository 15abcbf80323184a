import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddStepDocument,
  ApiKeysDocument,
  ApiKeysWithDatesDocument,
  ApplyEditsDocument,
  ArchiveWorkflowDocument,
  ConnectStepsDocument,
  CreateApiKeyDocument,
  CreateWorkflowDocument,
  DeleteWorkflowDocument,
  DisconnectStepsDocument,
  MoveStepDocument,
  PublishWorkflowDocument,
  RedoDocument,
  RemoveStepDocument,
  RevertDraftDocument,
  RevokeApiKeyDocument,
  UndoDocument,
  UpdateStepDocument,
  UpdateWorkflowDocument,
  WorkflowDocument,
  WorkflowHistoryDocument,
  WorkflowVersionDocument,
  WorkflowVersionsDocument,
  WorkflowsDocument,
  WorkspaceDocument,
} from '../../src/sdk/operations.generated.js';
import { GraphQLClient, type ClientError, type TestServer, startTestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const WORKSPACE_QUERY = print(WorkspaceDocument);

/** Sends `query` with exactly these headers (no key of the harness). */
async function anonymous(headers: Record<string, string>, query = WORKSPACE_QUERY) {
  return new GraphQLClient(server.url).raw(query, {}, headers);
}

function expectUnauthenticated(res: { status: number; body: { data?: unknown; errors?: readonly ClientError[] } }) {
  expect(res.status).toBe(401);
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(res.body.data ?? null).toBeNull();
}

/** A workspace holding one workflow that every editing mutation could act on: t -> s -> e, published, with undo and redo available. */
async function seededWorkspace() {
  const owner = await server.newWorkspace('owner');
  const { client } = owner;
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Owned' } });
  const id = createWorkflow.id;
  await client.request(ApplyEditsDocument, {
    workflowId: id,
    edits: [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 's', type: 'sms.send', name: 'SMS', config: { to: '+15550100', text: 'Hi' } } },
      { addStep: { id: 'e', type: 'end', name: 'End' } },
      { connectSteps: { from: 't', port: 'next', to: 's' } },
      { connectSteps: { from: 's', port: 'next', to: 'e' } },
    ],
  });
  await client.request(PublishWorkflowDocument, { workflowId: id });
  await client.request(UpdateStepDocument, { workflowId: id, input: { stepId: 's', config: { to: '+15550100', text: 'Hello' } } });
  await client.request(MoveStepDocument, { workflowId: id, input: { stepId: 'e', position: { x: 10, y: 20 } } });
  await client.request(UndoDocument, { workflowId: id });
  return { ...owner, workflowId: id };
}

/** Everything a client can observe of a workflow's draft, history and versions. */
async function snapshot(client: GraphQLClient, id: string) {
  const { workflow } = await client.request(WorkflowDocument, { id, first: 500 });
  const history = await client.request(WorkflowHistoryDocument, { id, first: 100 });
  const versions = await client.request(WorkflowVersionsDocument, { id, first: 100 });
  return {
    head: workflow,
    steps: workflow.steps.edges.map((e) => e.node),
    edges: workflow.edges.edges.map((e) => e.node),
    history: history.workflow.history.edges.map((e) => e.node),
    versions: versions.workflow.versions.edges.map((e) => e.node),
  };
}

describe('authentication', () => {
  test('a request without Authorization is UNAUTHENTICATED with HTTP 401', async () => {
    expectUnauthenticated(await anonymous({}));
  });

  test.each([
    ['a Basic scheme', 'Basic dXNlcjpwYXNz'],
    ['Bearer without a key', 'Bearer'],
    ['Bearer with two words', 'Bearer wfb_abc def'],
    ['a bare key', 'wfb_abcdef'],
    ['an empty value', ''],
  ])('a malformed header (%s) is UNAUTHENTICATED with HTTP 401', async (_label, value) => {
    expectUnauthenticated(await anonymous({ authorization: value }));
  });

  test('an unknown key is UNAUTHENTICATED with HTTP 401', async () => {
    expectUnauthenticated(await anonymous({ authorization: `Bearer wfb_${'x'.repeat(43)}` }));
    // A real key with one character changed is just as unknown.
    const tampered = server.apiKey.slice(0, -1) + (server.apiKey.endsWith('A') ? 'B' : 'A');
    expectUnauthenticated(await anonymous({ authorization: `Bearer ${tampered}` }));
  });

  test('a mutation without a valid key is refused before it runs', async () => {
    const mutation = print(CreateWorkflowDocument);
    const res = await new GraphQLClient(server.url).raw(mutation, { input: { name: 'Sneaky' } });
    expectUnauthenticated(res);
    const { workflows } = await server.client.request(WorkflowsDocument, { first: 500 });
    expect(workflows.edges.map((e) => e.node.name)).not.toContain('Sneaky');
  });

  test('a revoked key is UNAUTHENTICATED with HTTP 401, at once; other keys keep working', async () => {
    const { client, workspaceId } = await server.newWorkspace('revoking');
    const { createApiKey } = await client.request(CreateApiKeyDocument, { name: 'ci' });
    const extra = new GraphQLClient(server.url, createApiKey.secret);
    expect((await extra.request(WorkspaceDocument)).workspace.id).toBe(workspaceId);

    const { revokeApiKey } = await client.request(RevokeApiKeyDocument, { id: createApiKey.apiKey.id });
    expect(revokeApiKey.id).toBe(createApiKey.apiKey.id);
    expect(revokeApiKey.revokedAt).not.toBeNull();

    expectUnauthenticated(await extra.raw(WORKSPACE_QUERY));
    expect((await client.request(WorkspaceDocument)).workspace.id).toBe(workspaceId);
    const { apiKeys } = await client.request(ApiKeysDocument);
    expect(apiKeys.find((k) => k.id === createApiKey.apiKey.id)?.revokedAt).not.toBeNull();
  });

  test('a key can revoke itself, and is refused from the next request on', async () => {
    const { client } = await server.newWorkspace('self-revoking');
    const { apiKeys } = await client.request(ApiKeysDocument);
    expect(apiKeys).toHaveLength(1);
    await client.request(RevokeApiKeyDocument, { id: apiKeys[0]!.id });
    expectUnauthenticated(await client.raw(WORKSPACE_QUERY));
  });
});

describe('API keys', () => {
  test('are listed with their prefix only, never the secret', async () => {
    const { client, apiKey } = await server.newWorkspace('listing');
    const { createApiKey } = await client.request(CreateApiKeyDocument, { name: '  deploy bot  ' });
    expect(createApiKey.apiKey.name).toBe('deploy bot');
    expect(createApiKey.secret.startsWith(createApiKey.apiKey.prefix)).toBe(true);
    expect(createApiKey.apiKey.prefix.length).toBeLessThan(createApiKey.secret.length / 2);

    const res = await client.raw(print(ApiKeysWithDatesDocument));
    expect(res.body.errors).toBeUndefined();
    const listed = (res.body.data as { apiKeys: { id: string; name: string; prefix: string }[] }).apiKeys;
    expect(listed.map((k) => k.name)).toEqual(['default', 'deploy bot']);
    expect(apiKey.startsWith(listed[0]!.prefix)).toBe(true);
    expect(listed[1]).toMatchObject({ id: createApiKey.apiKey.id, prefix: createApiKey.apiKey.prefix });
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(createApiKey.secret);
    expect(text).not.toContain(apiKey);

    // There is no field to ask for it.
    const asked = await client.raw('query { apiKeys { id secret } }');
    expect(asked.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(asked.body)).not.toContain(createApiKey.secret);
  });

  test('a key name must not be empty', async () => {
    const err = await server.client.expectError(CreateApiKeyDocument, { name: '   ' });
    expect(err.extensions?.code).toBe('BAD_USER_INPUT');
    expect(err.extensions?.field).toBe('name');
  });

  test('each workspace lists only its own keys, and cannot revoke another workspace’s key', async () => {
    const a = await server.newWorkspace('keys A');
    const b = await server.newWorkspace('keys B');
    const { apiKeys: keysA } = await a.client.request(ApiKeysDocument);
    const { apiKeys: keysB } = await b.client.request(ApiKeysDocument);
    expect(keysA).toHaveLength(1);
    expect(keysB).toHaveLength(1);
    expect(keysA[0]!.id).not.toBe(keysB[0]!.id);

    const err = await b.client.expectError(RevokeApiKeyDocument, { id: keysA[0]!.id });
    expect(err.extensions?.code).toBe('NOT_FOUND');
    expect(err.extensions?.id).toBe(keysA[0]!.id);
    // A's key is untouched and still works.
    const after = await a.client.request(ApiKeysDocument);
    expect(after.apiKeys[0]!.revokedAt).toBeNull();
    expect((await a.client.request(WorkspaceDocument)).workspace.id).toBe(a.workspaceId);
  });
});

describe('workspace isolation', () => {
  test('another workspace cannot see a workflow, and every editing mutation answers NOT_FOUND without changing it', async () => {
    const owner = await seededWorkspace();
    const id = owner.workflowId;
    const before = await snapshot(owner.client, id);
    // The seed leaves something for each mutation to act on, so NOT_FOUND can only mean "not yours".
    expect(before.head).toMatchObject({ canUndo: true, canRedo: true, latestVersion: 1, status: 'ACTIVE' });
    expect(before.steps.map((s) => s.id)).toEqual(['t', 's', 'e']);

    const intruder = await server.newWorkspace('intruder');
    const c = intruder.client;
    const attempts: [string, () => Promise<ClientError>][] = [
      ['workflow', () => c.expectError(WorkflowDocument, { id, first: 10 })],
      ['workflowHistory', () => c.expectError(WorkflowHistoryDocument, { id, first: 10 })],
      ['workflowVersion', () => c.expectError(WorkflowVersionDocument, { workflowId: id, version: 1 })],
      ['updateWorkflow', () => c.expectError(UpdateWorkflowDocument, { id, input: { name: 'Mine now' } })],
      ['addStep', () => c.expectError(AddStepDocument, { workflowId: id, input: { id: 'x', type: 'end', name: 'X' } })],
      ['updateStep', () => c.expectError(UpdateStepDocument, { workflowId: id, input: { stepId: 's', name: 'Renamed' } })],
      ['moveStep', () => c.expectError(MoveStepDocument, { workflowId: id, input: { stepId: 's', position: { x: 1, y: 2 } } })],
      ['removeStep', () => c.expectError(RemoveStepDocument, { workflowId: id, input: { stepId: 'e' } })],
      ['connectSteps', () => c.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 'e', port: 'next', to: 's' } })],
      ['disconnectSteps', () => c.expectError(DisconnectStepsDocument, { workflowId: id, input: { from: 't', port: 'next' } })],
      [
        'applyEdits',
        () =>
          c.expectError(ApplyEditsDocument, {
            workflowId: id,
            edits: [{ updateWorkflow: { name: 'Mine now' } }, { removeStep: { stepId: 'e' } }],
          }),
      ],
      ['undo', () => c.expectError(UndoDocument, { workflowId: id })],
      ['redo', () => c.expectError(RedoDocument, { workflowId: id })],
      ['publishWorkflow', () => c.expectError(PublishWorkflowDocument, { workflowId: id })],
      ['revertDraft', () => c.expectError(RevertDraftDocument, { workflowId: id, version: 1 })],
      ['archiveWorkflow', () => c.expectError(ArchiveWorkflowDocument, { workflowId: id })],
      ['deleteWorkflow', () => c.expectError(DeleteWorkflowDocument, { id, force: true })],
    ];
    // Sequentially, so that a mutation that wrongly succeeded would be visible to the next one.
    for (const [name, attempt] of attempts) {
      const err = await attempt();
      expect.soft({ name, code: err.extensions?.code, id: err.extensions?.id }).toEqual({ name, code: 'NOT_FOUND', id });
      expect.soft(err.message, name).toBe(`Workflow '${id}' was not found`);
    }

    expect(await snapshot(owner.client, id)).toEqual(before);
    // And the owner can still do each of those things (the refusals were not about the input).
    await owner.client.request(RedoDocument, { workflowId: id });
    await owner.client.request(UndoDocument, { workflowId: id });
  });

  test('even a revision-conflicting or otherwise invalid request answers NOT_FOUND, revealing nothing', async () => {
    const owner = await seededWorkspace();
    const id = owner.workflowId;
    const c = (await server.newWorkspace('prober')).client;
    const probes = [
      c.expectError(AddStepDocument, { workflowId: id, input: { type: 'end', name: 'X' }, expectedRevision: 999 }),
      c.expectError(AddStepDocument, { workflowId: id, input: { type: 'no.such.type', name: 'X' } }),
      c.expectError(UpdateStepDocument, { workflowId: id, input: { stepId: 'missing', name: 'X' } }),
      c.expectError(RevertDraftDocument, { workflowId: id, version: 42 }),
      c.expectError(WorkflowVersionDocument, { workflowId: id, version: 42 }),
    ];
    for (const err of await Promise.all(probes)) {
      expect(err.extensions?.code).toBe('NOT_FOUND');
      expect(err.extensions?.id).toBe(id);
    }
  });

  test('workflows lists only the workspace’s own workflows', async () => {
    const a = await server.newWorkspace('list A');
    const b = await server.newWorkspace('list B');
    const mine = async (client: GraphQLClient, name: string) =>
      (await client.request(CreateWorkflowDocument, { input: { name } })).createWorkflow.id;
    const a1 = await mine(a.client, 'A one');
    const a2 = await mine(a.client, 'A two');
    const b1 = await mine(b.client, 'B one');
    await a.client.request(ArchiveWorkflowDocument, { workflowId: a2 });

    const listA = await a.client.request(WorkflowsDocument, { first: 100 });
    expect(listA.workflows.edges.map((e) => e.node.id)).toEqual([a2, a1]);
    expect(listA.workflows.totalCount).toBe(2);
    const listB = await b.client.request(WorkflowsDocument, { first: 100 });
    expect(listB.workflows.edges.map((e) => e.node.id)).toEqual([b1]);
    expect(listB.workflows.totalCount).toBe(1);
    const archivedB = await b.client.request(WorkflowsDocument, { status: 'ARCHIVED', first: 100 });
    expect(archivedB.workflows.edges).toEqual([]);
    expect(archivedB.workflows.totalCount).toBe(0);
  });
});

describe('ids that cannot exist', () => {
  const badIds = ['not-a-uuid', '1', "'; drop table workflows; --", 'x'.repeat(2000), randomUUID()];

  test.each(badIds.map((id) => [id.length > 40 ? `${id.slice(0, 12)}… (${id.length} chars)` : id, id]))(
    'workflow id %s is NOT_FOUND, not a server error',
    async (_label, id) => {
      const c = server.client;
      const errors = [
        await c.expectError(WorkflowDocument, { id, first: 5 }),
        await c.expectError(WorkflowVersionDocument, { workflowId: id, version: 1 }),
        await c.expectError(AddStepDocument, { workflowId: id, input: { type: 'end', name: 'X' } }),
        await c.expectError(UpdateWorkflowDocument, { id, input: { name: 'X' } }),
        await c.expectError(UndoDocument, { workflowId: id }),
        await c.expectError(RedoDocument, { workflowId: id }),
        await c.expectError(PublishWorkflowDocument, { workflowId: id }),
        await c.expectError(RevertDraftDocument, { workflowId: id, version: 1 }),
        await c.expectError(ArchiveWorkflowDocument, { workflowId: id }),
        await c.expectError(DeleteWorkflowDocument, { id }),
      ];
      for (const err of errors) {
        expect(err.extensions?.code).toBe('NOT_FOUND');
        expect(err.status).toBe(200);
      }
    },
  );

  test('an API key id that is not a UUID is NOT_FOUND', async () => {
    for (const id of ['nope', '', randomUUID()]) {
      const err = await server.client.expectError(RevokeApiKeyDocument, { id });
      expect(err.extensions?.code).toBe('NOT_FOUND');
    }
  });
});
