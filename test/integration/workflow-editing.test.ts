import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddStepDocument,
  ApplyEditsDocument,
  ConnectStepsDocument,
  CreateWorkflowDocument,
  DisconnectStepsDocument,
  MoveStepDocument,
  PublishWorkflowDocument,
  RedoDocument,
  RemoveStepDocument,
  RevertDraftDocument,
  UndoDocument,
  UpdateStepDocument,
  UpdateWorkflowDocument,
  ValidationProblemsDocument,
  WorkflowDocument,
  WorkflowHistoryDocument,
  WorkflowVersionDocument,
  WorkflowsDocument,
  ArchiveWorkflowDocument,
  type EditInput,
} from '../../src/sdk/operations.generated.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';

let server: TestServer;
let client: GraphQLClient;
beforeAll(async () => {
  server = await startTestServer();
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
});

async function newWorkflow(name = 'Lead follow-up'): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  return createWorkflow.id;
}

async function graphOf(id: string) {
  const { workflow } = await client.request(WorkflowDocument, { id, first: 500 });
  return {
    workflow,
    steps: workflow.steps.edges.map((e) => e.node),
    edges: workflow.edges.edges.map((e) => e.node).sort((a, b) => `${a.from}.${a.port}`.localeCompare(`${b.from}.${b.port}`)),
  };
}

const edges = (...list: [string, string, string][]) =>
  list.map(([from, port, to]) => ({ from, port, to })).sort((a, b) => `${a.from}.${a.port}`.localeCompare(`${b.from}.${b.port}`));

describe('building a workflow step by step', () => {
  test('add, edit, undo, redo, remove and publish, as a user would', async () => {
    const id = await newWorkflow();
    let r = await client.request(AddStepDocument, {
      workflowId: id,
      input: { id: 'trigger', type: 'trigger.incomingMessage', name: 'Message arrives', config: { channel: 'instagram' } },
    });
    expect(r.addStep.label).toBe("Added step 'Message arrives'");
    expect(r.addStep.workflow.draftRevision).toBe(1);

    r = await client.request(AddStepDocument, {
      workflowId: id,
      input: {
        id: 'welcome',
        type: 'whatsapp.sendMessage',
        name: 'Send WhatsApp message',
        config: { to: '{{trigger.message.from}}', text: 'Hi!' },
        after: { stepId: 'trigger', port: 'next' },
      },
    });
    expect(r.addStep.createdStepIds).toEqual(['welcome']);

    await client.request(AddStepDocument, {
      workflowId: id,
      input: {
        id: 'check',
        type: 'condition',
        name: 'Asks for price?',
        config: { when: { path: 'trigger.message.text', op: 'contains', value: 'price' } },
        after: { stepId: 'welcome', port: 'next' },
      },
    });
    await client.request(AddStepDocument, {
      workflowId: id,
      input: { id: 'wait', type: 'delay', name: 'Wait a day', config: { duration: { amount: 24, unit: 'hours' } } },
    });
    await client.request(AddStepDocument, {
      workflowId: id,
      input: {
        id: 'crm',
        type: 'http.request',
        name: 'Tell the CRM',
        config: { method: 'POST', url: 'https://crm.example.com/leads', body: '{"from":"{{trigger.message.from}}"}' },
      },
    });
    await client.request(ConnectStepsDocument, { workflowId: id, input: { from: 'check', port: 'true', to: 'wait' } });
    await client.request(ConnectStepsDocument, { workflowId: id, input: { from: 'check', port: 'false', to: 'crm' } });
    const connected = await client.request(ConnectStepsDocument, { workflowId: id, input: { from: 'wait', port: 'next', to: 'crm' } });
    expect(connected.connectSteps.label).toContain('Connected');

    let g = await graphOf(id);
    expect(g.steps.map((s) => s.id)).toEqual(['trigger', 'welcome', 'check', 'wait', 'crm']);
    expect(g.edges).toEqual(
      edges(['trigger', 'next', 'welcome'], ['welcome', 'next', 'check'], ['check', 'true', 'wait'], ['check', 'false', 'crm'], ['wait', 'next', 'crm']),
    );
    expect(g.workflow.draftRevision).toBe(8);

    // Change of mind: edit the message, then undo and redo that.
    const updated = await client.request(UpdateStepDocument, {
      workflowId: id,
      input: { stepId: 'welcome', config: { to: '{{trigger.message.from}}', text: 'Hello there!' } },
    });
    expect(updated.updateStep.label).toBe("Updated step 'Send WhatsApp message'");
    const undone = await client.request(UndoDocument, { workflowId: id });
    expect(undone.undo.canRedo).toBe(true);
    g = await graphOf(id);
    expect(g.steps.find((s) => s.id === 'welcome')!.config).toMatchObject({ text: 'Hi!' });
    const redone = await client.request(RedoDocument, { workflowId: id });
    expect(redone.redo.canRedo).toBe(false);
    g = await graphOf(id);
    expect(g.steps.find((s) => s.id === 'welcome')!.config).toMatchObject({ text: 'Hello there!' });

    // Remove the delay, reconnecting check(true) -> crm; undo brings the step and both edges back.
    await client.request(RemoveStepDocument, { workflowId: id, input: { stepId: 'wait', reconnect: true } });
    g = await graphOf(id);
    expect(g.steps.map((s) => s.id)).not.toContain('wait');
    expect(g.edges).toEqual(
      edges(['trigger', 'next', 'welcome'], ['welcome', 'next', 'check'], ['check', 'true', 'crm'], ['check', 'false', 'crm']),
    );
    await client.request(UndoDocument, { workflowId: id });
    g = await graphOf(id);
    expect(g.steps.map((s) => s.id)).toContain('wait');
    expect(g.edges).toHaveLength(5);

    await client.request(MoveStepDocument, { workflowId: id, input: { stepId: 'crm', position: { x: 300, y: 420 } } });
    g = await graphOf(id);
    expect(g.steps.find((s) => s.id === 'crm')!.position).toEqual({ x: 300, y: 420 });

    // A new edit after an undo discards what could be redone.
    await client.request(UndoDocument, { workflowId: id });
    const renamed = await client.request(UpdateWorkflowDocument, { id, input: { name: 'Price requests' } });
    expect(renamed.updateWorkflow.canRedo).toBe(false);
    expect(renamed.updateWorkflow.workflow.name).toBe('Price requests');

    const published = await client.request(PublishWorkflowDocument, { workflowId: id });
    expect(published.publishWorkflow.version.version).toBe(1);
    expect(published.publishWorkflow.workflow.status).toBe('ACTIVE');
    expect(published.publishWorkflow.workflow.latestVersion).toBe(1);

    const { workflowVersion } = await client.request(WorkflowVersionDocument, { workflowId: id, version: 1 });
    expect(workflowVersion.steps).toHaveLength(5);
    expect(workflowVersion.edges).toHaveLength(5);

    // Editing the draft after publishing leaves the version unchanged.
    await client.request(RemoveStepDocument, { workflowId: id, input: { stepId: 'crm' } });
    const again = await client.request(WorkflowVersionDocument, { workflowId: id, version: 1 });
    expect(again.workflowVersion.steps).toHaveLength(5);

    const history = await client.request(WorkflowHistoryDocument, { id, first: 3 });
    // The undone move was discarded by the rename; the undone removal of 'wait' by the move.
    expect(history.workflow.history.edges.map((e) => e.node.label)).toEqual([
      "Removed step 'Tell the CRM'",
      "Renamed workflow to 'Price requests'",
      "Updated step 'Send WhatsApp message'",
    ]);
    expect(history.workflow.history.edges.every((e) => !e.node.undone)).toBe(true);
    expect(history.workflow.history.pageInfo.hasNextPage).toBe(true);
  });

  test('applyEdits builds a graph atomically as one undoable change, and undo removes all of it', async () => {
    const id = await newWorkflow();
    const batch: EditInput[] = [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 's', type: 'sms.send', name: 'Send SMS', config: { to: '+15550100', text: 'Hello' } } },
      { addStep: { id: 'e', type: 'end', name: 'Done' } },
      { connectSteps: { from: 't', port: 'next', to: 's' } },
      { connectSteps: { from: 's', port: 'next', to: 'e' } },
    ];
    const r = await client.request(ApplyEditsDocument, { workflowId: id, edits: batch });
    expect(r.applyEdits.createdStepIds).toEqual(['t', 's', 'e']);
    expect(r.applyEdits.workflow.draftRevision).toBe(1);
    expect(r.applyEdits.label).toBe("Added step 'Start' and 4 more edits");
    expect((await graphOf(id)).edges).toHaveLength(2);

    await client.request(UndoDocument, { workflowId: id });
    const g = await graphOf(id);
    expect(g.steps).toHaveLength(0);
    expect(g.workflow.stepCount).toBe(0);
    expect(g.workflow.canUndo).toBe(false);
    expect(g.workflow.canRedo).toBe(true);

    await client.request(RedoDocument, { workflowId: id });
    expect((await graphOf(id)).steps).toHaveLength(3);
  });

  test('a failing edit in a batch leaves the draft exactly as it was', async () => {
    const id = await newWorkflow();
    await client.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [{ addStep: { id: 't', type: 'trigger.manual', name: 'Start' } }],
    });
    const err = await client.expectError(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 'a', type: 'sms.send', name: 'A', config: { to: '+1', text: 'x' } } },
        { connectSteps: { from: 't', port: 'next', to: 'a' } },
        { connectSteps: { from: 't', port: 'next', to: 'a' } },
      ],
    });
    expect(err.extensions?.code).toBe('BAD_USER_INPUT');
    expect(err.extensions?.commandIndex).toBe(2);
    const g = await graphOf(id);
    expect(g.steps.map((s) => s.id)).toEqual(['t']);
    expect(g.edges).toEqual([]);
    expect(g.workflow.draftRevision).toBe(1);
  });

  test('insert after a port rewires the edge that was there', async () => {
    const id = await newWorkflow();
    await client.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 'b', type: 'end', name: 'End', after: { stepId: 't', port: 'next' } } },
      ],
    });
    await client.request(AddStepDocument, {
      workflowId: id,
      input: { id: 'mid', type: 'delay', name: 'Pause', config: { duration: { amount: 5, unit: 'minutes' } }, after: { stepId: 't', port: 'next' } },
    });
    expect((await graphOf(id)).edges).toEqual(edges(['t', 'next', 'mid'], ['mid', 'next', 'b']));
    await client.request(DisconnectStepsDocument, { workflowId: id, input: { from: 'mid', port: 'next' } });
    expect((await graphOf(id)).edges).toEqual(edges(['t', 'next', 'mid']));
  });
});

describe('revisions, publishing and versions', () => {
  test('a stale expectedRevision is refused with REVISION_CONFLICT and the current revision; nothing changes', async () => {
    const id = await newWorkflow();
    await client.request(AddStepDocument, { workflowId: id, input: { id: 't', type: 'trigger.manual', name: 'Start' }, expectedRevision: 0 });
    const err = await client.expectError(AddStepDocument, {
      workflowId: id,
      input: { id: 'x', type: 'end', name: 'End' },
      expectedRevision: 0,
    });
    expect(err.extensions?.code).toBe('REVISION_CONFLICT');
    expect(err.extensions?.currentRevision).toBe(1);
    const undoErr = await client.expectError(UndoDocument, { workflowId: id, expectedRevision: 7 });
    expect(undoErr.extensions?.code).toBe('REVISION_CONFLICT');
    const g = await graphOf(id);
    expect(g.steps.map((s) => s.id)).toEqual(['t']);
    expect(g.workflow.draftRevision).toBe(1);
  });

  test('publish reports every problem at once, with step ids and codes', async () => {
    const id = await newWorkflow();
    await client.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 't1', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 't2', type: 'trigger.webhook', name: 'Hook' } },
        { addStep: { id: 'c', type: 'condition', name: 'Check', config: { when: { path: 'trigger.x', op: 'exists' } } } },
        { addStep: { id: 'lonely', type: 'end', name: 'Nobody reaches me' } },
        { connectSteps: { from: 't1', port: 'next', to: 'c' } },
      ],
    });
    const err = await client.expectError(PublishWorkflowDocument, { workflowId: id });
    expect(err.extensions?.code).toBe('VALIDATION_FAILED');
    const problems = err.extensions?.problems as { code: string; stepId?: string; port?: string }[];
    const codes = problems.map((p) => `${p.code}:${p.stepId ?? ''}:${p.port ?? ''}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        'MULTIPLE_TRIGGERS:t1:',
        'MULTIPLE_TRIGGERS:t2:',
        'MISSING_REQUIRED_EDGE:c:true',
        'MISSING_REQUIRED_EDGE:c:false',
        'MISSING_REQUIRED_EDGE:t2:next',
      ]),
    );
    const { workflow } = await client.request(ValidationProblemsDocument, { id });
    expect(workflow.validationProblems.length).toBe(problems.length);
    const after = await graphOf(id);
    expect(after.workflow.latestVersion).toBeNull();
    expect(after.workflow.status).toBe('DRAFT');
  });

  test('a cycle is reported at publish', async () => {
    const id = await newWorkflow();
    await client.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 'a', type: 'sms.send', name: 'A', config: { to: '+1', text: 'a' } } },
        { addStep: { id: 'b', type: 'sms.send', name: 'B', config: { to: '+1', text: 'b' } } },
        { connectSteps: { from: 't', port: 'next', to: 'a' } },
        { connectSteps: { from: 'a', port: 'next', to: 'b' } },
        { connectSteps: { from: 'b', port: 'next', to: 'a' } },
      ],
    });
    const err = await client.expectError(PublishWorkflowDocument, { workflowId: id });
    const problems = err.extensions?.problems as { code: string; stepId?: string }[];
    expect(problems.filter((p) => p.code === 'CYCLE').map((p) => p.stepId).sort()).toEqual(['a', 'b']);
  });

  test('revertDraft restores a published version and is itself undoable', async () => {
    const id = await newWorkflow();
    await client.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 'e', type: 'end', name: 'End', after: { stepId: 't', port: 'next' } } },
      ],
    });
    await client.request(PublishWorkflowDocument, { workflowId: id });
    await client.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 's', type: 'sms.send', name: 'SMS', config: { to: '+1', text: 'x' }, after: { stepId: 't', port: 'next' } } },
        { updateStep: { stepId: 'e', name: 'Finish' } },
      ],
    });
    const reverted = await client.request(RevertDraftDocument, { workflowId: id, version: 1 });
    expect(reverted.revertDraft.label).toBe('Reverted draft to version 1');
    let g = await graphOf(id);
    expect(g.steps.map((s) => [s.id, s.name])).toEqual([['t', 'Start'], ['e', 'End']]);
    expect(g.edges).toEqual(edges(['t', 'next', 'e']));
    await client.request(UndoDocument, { workflowId: id });
    g = await graphOf(id);
    expect(g.steps.map((s) => s.id).sort()).toEqual(['e', 's', 't']);
    expect(g.edges).toEqual(edges(['t', 'next', 's'], ['s', 'next', 'e']));

    const missing = await client.expectError(RevertDraftDocument, { workflowId: id, version: 9 });
    expect(missing.extensions?.code).toBe('NOT_FOUND');
  });

  test('undo and redo with nothing to do are INVALID_STATE', async () => {
    const id = await newWorkflow();
    expect((await client.expectError(UndoDocument, { workflowId: id })).extensions?.code).toBe('INVALID_STATE');
    expect((await client.expectError(RedoDocument, { workflowId: id })).extensions?.code).toBe('INVALID_STATE');
  });

  test('an archived workflow is read-only and listed under its status', async () => {
    const id = await newWorkflow('To archive');
    const { archiveWorkflow } = await client.request(ArchiveWorkflowDocument, { workflowId: id });
    expect(archiveWorkflow.status).toBe('ARCHIVED');
    const err = await client.expectError(AddStepDocument, { workflowId: id, input: { type: 'end', name: 'x' } });
    expect(err.extensions?.code).toBe('INVALID_STATE');
    const { workflows } = await client.request(WorkflowsDocument, { status: 'ARCHIVED', first: 100 });
    expect(workflows.edges.map((e) => e.node.id)).toContain(id);
  });
});

describe('history and paging', () => {
  test('history is bounded by HISTORY_DEPTH, newest first, and pages', async () => {
    const small = await startTestServer({ env: { HISTORY_DEPTH: '3' } });
    try {
      const { createWorkflow } = await small.client.request(CreateWorkflowDocument, { input: { name: 'H' } });
      const id = createWorkflow.id;
      await small.client.request(AddStepDocument, { workflowId: id, input: { id: 't', type: 'trigger.manual', name: 'Start' } });
      for (let i = 1; i <= 4; i++) {
        await small.client.request(MoveStepDocument, { workflowId: id, input: { stepId: 't', position: { x: i, y: 0 } } });
      }
      const h = await small.client.request(WorkflowHistoryDocument, { id, first: 2 });
      expect(h.workflow.history.totalCount).toBe(3);
      expect(h.workflow.history.edges.map((e) => e.node.seq)).toEqual([5, 4]);
      const next = await small.client.request(WorkflowHistoryDocument, { id, first: 2, after: h.workflow.history.pageInfo.endCursor });
      expect(next.workflow.history.edges.map((e) => e.node.seq)).toEqual([3]);
      expect(next.workflow.history.pageInfo.hasNextPage).toBe(false);
      for (let i = 0; i < 3; i++) await small.client.request(UndoDocument, { workflowId: id });
      const err = await small.client.expectError(UndoDocument, { workflowId: id });
      expect(err.extensions?.code).toBe('INVALID_STATE');
    } finally {
      await small.stop();
    }
  });

  test('steps page in insertion order and a page size above the cap is refused', async () => {
    const id = await newWorkflow();
    const edits: EditInput[] = [{ addStep: { id: 't', type: 'trigger.manual', name: 'Start' } }];
    for (let i = 0; i < 30; i++) edits.push({ addStep: { id: `s${i}`, type: 'end', name: `End ${i}` } });
    await client.request(ApplyEditsDocument, { workflowId: id, edits });
    const seen: string[] = [];
    let after: string | null | undefined;
    do {
      const { workflow } = await client.request(WorkflowDocument, { id, first: 7, after: after ?? undefined });
      seen.push(...workflow.steps.edges.map((e) => e.node.id));
      expect(workflow.steps.totalCount).toBe(31);
      after = workflow.steps.pageInfo.hasNextPage ? workflow.steps.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(['t', ...Array.from({ length: 30 }, (_, i) => `s${i}`)]);
    const err = await client.expectError(WorkflowDocument, { id, first: 100_000 });
    expect(err.extensions?.code).toBe('BAD_USER_INPUT');
    const badCursor = await client.expectError(WorkflowDocument, { id, first: 5, after: 'not-a-cursor' });
    expect(badCursor.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
