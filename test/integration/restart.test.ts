import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  CreateApiKeyDocument,
  CreateWorkflowDocument,
  PublishWorkflowDocument,
  RedoDocument,
  UndoDocument,
  UpdateStepDocument,
  UpdateWorkflowDocument,
  WorkflowDocument,
  WorkflowHistoryDocument,
  WorkflowVersionDocument,
  WorkflowVersionsDocument,
} from '../../src/sdk/operations.generated.js';
import { GraphQLClient, startTestServer, testDatabaseUrl, type TestServer } from '../support/test-server.js';

const embedded = !testDatabaseUrl();
// Both servers must open the same embedded database; on real Postgres the database itself persists.
const dataDir = embedded ? mkdtempSync(join(tmpdir(), 'wfb-restart-')) : undefined;
const running: TestServer[] = [];

const start = async () => {
  const server = await startTestServer(dataDir ? { dataDir } : {});
  running.push(server);
  return server;
};

afterAll(async () => {
  for (const server of running) await server.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function stateOf(client: GraphQLClient, id: string) {
  const { workflow } = await client.request(WorkflowDocument, { id, first: 500 });
  const history = await client.request(WorkflowHistoryDocument, { id, first: 100 });
  const versions = await client.request(WorkflowVersionsDocument, { id, first: 100 });
  const published = await client.request(WorkflowVersionDocument, { workflowId: id, version: 1 });
  return {
    head: workflow,
    steps: workflow.steps.edges.map((e) => e.node),
    edges: workflow.edges.edges.map((e) => e.node).sort((a, b) => `${a.from}.${a.port}`.localeCompare(`${b.from}.${b.port}`)),
    history: history.workflow.history.edges.map((e) => e.node),
    versions: versions.workflow.versions.edges.map((e) => e.node),
    published: published.workflowVersion,
  };
}

describe('a restart', () => {
  test('keeps the draft, undo/redo history, published versions and API keys; redo still works', async () => {
    const first = await start();
    const { createApiKey } = await first.client.request(CreateApiKeyDocument, { name: 'survives restarts' });
    const before = new GraphQLClient(first.url, createApiKey.secret);

    const { createWorkflow } = await before.request(CreateWorkflowDocument, { input: { name: 'Durable' } });
    const id = createWorkflow.id;
    await before.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 's', type: 'sms.send', name: 'SMS', config: { to: '+15550100', text: 'Hi' }, after: { stepId: 't' } } },
        { addStep: { id: 'e', type: 'end', name: 'End', after: { stepId: 's' } } },
      ],
    });
    await before.request(UpdateStepDocument, { workflowId: id, input: { stepId: 's', config: { to: '+15550100', text: 'Hello' } } });
    await before.request(UpdateWorkflowDocument, { id, input: { name: 'Durable, renamed' } });
    const undone = await before.request(UndoDocument, { workflowId: id });
    expect(undone.undo).toMatchObject({ label: "Renamed workflow to 'Durable, renamed'", canUndo: true, canRedo: true });
    const published = await before.request(PublishWorkflowDocument, { workflowId: id });
    expect(published.publishWorkflow.version).toEqual({ version: 1, draftRevision: 4, failureHandlerWorkflowId: null, repliesAlsoStartWorkflows: false });

    const expected = await stateOf(before, id);
    expect(expected.head).toMatchObject({
      name: 'Durable',
      status: 'ACTIVE',
      draftRevision: 4,
      stepCount: 3,
      latestVersion: 1,
      canUndo: true,
      canRedo: true,
    });
    expect(expected.history.map((h) => [h.label, h.undone])).toEqual([
      ["Renamed workflow to 'Durable, renamed'", true],
      ["Updated step 'SMS'", false],
      ["Added step 'Start' and 2 more edits", false],
    ]);
    expect(expected.published.steps.find((s) => s.id === 's')?.config).toEqual({ to: '+15550100', text: 'Hello' });

    await first.stop({ keepData: true });
    if (dataDir) expect(existsSync(dataDir)).toBe(true);
    const second = await start();
    expect(second.url).not.toBe(first.url);
    const after = new GraphQLClient(second.url, createApiKey.secret);

    expect(await stateOf(after, id)).toEqual(expected);

    const redone = await after.request(RedoDocument, { workflowId: id });
    expect(redone.redo).toMatchObject({
      label: "Renamed workflow to 'Durable, renamed'",
      canUndo: true,
      canRedo: false,
      workflow: { name: 'Durable, renamed', draftRevision: 5 },
    });
    // And the history goes on from where it was: undo twice reaches the config edit.
    await after.request(UndoDocument, { workflowId: id });
    const back = await after.request(UndoDocument, { workflowId: id });
    expect(back.undo.label).toBe("Updated step 'SMS'");
    const { workflow } = await after.request(WorkflowDocument, { id, first: 10 });
    expect(workflow.steps.edges.find((e) => e.node.id === 's')?.node.config).toEqual({ to: '+15550100', text: 'Hi' });
    // The published version is immutable across all of it.
    const v1 = await after.request(WorkflowVersionDocument, { workflowId: id, version: 1 });
    expect(v1.workflowVersion).toEqual(expected.published);
  });
});
