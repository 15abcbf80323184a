import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddStepDocument,
  ApplyEditsDocument,
  ConnectStepsDocument,
  CreateWorkflowDocument,
  DisconnectStepsDocument,
  MoveStepDocument,
  RemoveStepDocument,
  UpdateStepDocument,
  UpdateWorkflowDocument,
  WorkflowDocument,
  WorkflowHistoryDocument,
  type EditInput,
} from '../../src/sdk/operations.generated.js';
import { startTestServer, type ClientError, type GraphQLClient, type TestServer } from '../support/test-server.js';

let server: TestServer;
let client: GraphQLClient;
beforeAll(async () => {
  server = await startTestServer();
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
});

/**
 * A workflow t(trigger.manual) -> s(sms.send) -> c(condition), c.true -> e(end), with c.false
 * and e unconnected, made as one applyEdits.
 */
async function seed(c: GraphQLClient = client): Promise<string> {
  const { createWorkflow } = await c.request(CreateWorkflowDocument, { input: { name: 'Bad input target' } });
  await c.request(ApplyEditsDocument, {
    workflowId: createWorkflow.id,
    edits: [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 's', type: 'sms.send', name: 'SMS', config: { to: '+15550100', text: 'Hi {{ trigger.name }}' } } },
      {
        addStep: {
          id: 'c',
          type: 'condition',
          name: 'Check',
          config: { when: { path: 'trigger.text', op: 'contains', value: 'price' } },
        },
      },
      { addStep: { id: 'e', type: 'end', name: 'End' } },
      { connectSteps: { from: 't', port: 'next', to: 's' } },
      { connectSteps: { from: 's', port: 'next', to: 'c' } },
      { connectSteps: { from: 'c', port: 'true', to: 'e' } },
    ],
  });
  return createWorkflow.id;
}

/** What must not change when an edit is refused. */
async function draftOf(id: string, c: GraphQLClient = client) {
  const { workflow } = await c.request(WorkflowDocument, { id, first: 500 });
  const history = await c.request(WorkflowHistoryDocument, { id, first: 100 });
  return {
    name: workflow.name,
    draftRevision: workflow.draftRevision,
    stepCount: workflow.stepCount,
    canUndo: workflow.canUndo,
    canRedo: workflow.canRedo,
    steps: workflow.steps.edges.map((e) => e.node),
    edges: workflow.edges.edges.map((e) => e.node).sort((a, b) => `${a.from}.${a.port}`.localeCompare(`${b.from}.${b.port}`)),
    history: history.workflow.history.edges.map((e) => e.node),
  };
}

interface Expected {
  code: string;
  field?: string;
  /** Text the message must contain, so a client can show it. */
  message?: string | RegExp;
}

/** Runs `attempt` on a freshly seeded draft and checks the refusal and that the draft is as it was. */
type Refusal = ClientError & { status: number };

async function refused(attempt: (id: string) => Promise<Refusal>, expected: Expected): Promise<Refusal> {
  const id = await seed();
  const before = await draftOf(id);
  expect(before.draftRevision).toBe(1);
  const err = await attempt(id);
  expect(err.extensions?.code, err.message).toBe(expected.code);
  if (expected.field !== undefined) expect(err.extensions?.field, err.message).toBe(expected.field);
  if (expected.message !== undefined) expect(err.message).toMatch(expected.message);
  expect(err.message.length).toBeGreaterThan(10);
  expect(err.status).not.toBe(500);
  expect(await draftOf(id)).toEqual(before);
  return err;
}

/**
 * No stack trace in a response. graphql-js's own messages may say "got invalid value 1 at
 * \"input.x\"", so stack frames are recognised by their shape: "at fn (file:line:col)".
 */
const noStackTrace = (body: unknown) => {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/stacktrace/i);
  expect(text).not.toMatch(/\bat (\S+ )?\(?(file:|node:|\/)[^)\s]*:\d+/);
  expect(text).not.toMatch(/\.(ts|js|mjs|cjs):\d+/);
  expect(text).not.toContain('\\n    at ');
};

describe('steps that do not exist', () => {
  test.each([
    ['updateStep', (id: string) => client.expectError(UpdateStepDocument, { workflowId: id, input: { stepId: 'ghost', name: 'X' } })],
    ['moveStep', (id: string) => client.expectError(MoveStepDocument, { workflowId: id, input: { stepId: 'ghost', position: { x: 1, y: 1 } } })],
    ['removeStep', (id: string) => client.expectError(RemoveStepDocument, { workflowId: id, input: { stepId: 'ghost' } })],
    ['connectSteps from', (id: string) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 'ghost', to: 'e' } })],
    ['connectSteps to', (id: string) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 'e', to: 'ghost' } })],
    ['disconnectSteps', (id: string) => client.expectError(DisconnectStepsDocument, { workflowId: id, input: { from: 'ghost' } })],
    [
      'addStep after',
      (id: string) =>
        client.expectError(AddStepDocument, { workflowId: id, input: { type: 'end', name: 'X', after: { stepId: 'ghost' } } }),
    ],
  ])('%s with an unknown step id is NOT_FOUND', async (_name, attempt) => {
    const err = await refused(attempt, { code: 'NOT_FOUND', message: /ghost/ });
    expect(err.extensions?.id).toBe('ghost');
  });

  test('connecting to a step of another workflow of the same workspace is NOT_FOUND', async () => {
    const other = await client.request(CreateWorkflowDocument, { input: { name: 'Other' } });
    await client.request(AddStepDocument, {
      workflowId: other.createWorkflow.id,
      input: { id: 'elsewhere', type: 'end', name: 'Elsewhere' },
    });
    const err = await refused(
      (id) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 'c', port: 'false', to: 'elsewhere' } }),
      { code: 'NOT_FOUND' },
    );
    expect(err.extensions?.id).toBe('elsewhere');
    // A step id both workflows share still resolves to this workflow's own step.
    const id = await seed();
    const twin = await seed();
    await client.request(ConnectStepsDocument, { workflowId: id, input: { from: 'c', port: 'false', to: 'e' } });
    expect((await draftOf(twin)).edges).toHaveLength(3);
  });
});

describe('step types and configs', () => {
  test('an unknown step type is BAD_USER_INPUT on field type', async () => {
    await refused(
      (id) => client.expectError(AddStepDocument, { workflowId: id, input: { type: 'fax.send', name: 'Fax' } }),
      { code: 'BAD_USER_INPUT', field: 'type', message: /fax\.send/ },
    );
  });

  test('a config missing a required field names it: sms.send without text', async () => {
    const err = await refused(
      (id) => client.expectError(AddStepDocument, { workflowId: id, input: { type: 'sms.send', name: 'SMS', config: { to: '+1' } } }),
      { code: 'BAD_USER_INPUT', field: 'config.text', message: /config\.text/ },
    );
    expect(err.extensions?.issues).toEqual([expect.objectContaining({ path: 'config.text' })]);
  });

  test('an update that drops a required field is refused the same way', async () => {
    await refused(
      (id) => client.expectError(UpdateStepDocument, { workflowId: id, input: { stepId: 's', config: { to: '+1' } } }),
      { code: 'BAD_USER_INPUT', field: 'config.text' },
    );
  });

  test.each([
    ['a number for a string', 'sms.send', { to: '+1', text: 42 }, 'config.text'],
    ['an object for a string', 'sms.send', { to: { number: '+1' }, text: 'x' }, 'config.to'],
    ['a string for an object', 'delay', { duration: '5 minutes' }, 'config.duration'],
    ['a string for a number', 'delay', { duration: { amount: 'five', unit: 'minutes' } }, 'config.duration.amount'],
    ['an unknown field', 'sms.send', { to: '+1', text: 'x', cc: '+2' }, 'config.cc'],
  ])('a config with %s is BAD_USER_INPUT naming the field', async (_label, type, config, field) => {
    await refused(
      (id) => client.expectError(AddStepDocument, { workflowId: id, input: { type, name: 'Typed', config } }),
      { code: 'BAD_USER_INPUT', field },
    );
  });

  test('a config that is not a JSON object at all is refused', async () => {
    const id = await seed();
    const before = await draftOf(id);
    for (const config of [[1, 2], 'text', 7, true]) {
      const { status, body } = await client.raw(print(AddStepDocument), {
        workflowId: id,
        input: { type: 'sms.send', name: 'SMS', config },
      });
      const err = body.errors?.[0];
      expect(err?.extensions?.code).toMatch(/^(BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/);
      expect(status).not.toBe(500);
      noStackTrace(body);
    }
    expect(await draftOf(id)).toEqual(before);
  });

  test('a syntactically broken template is refused when saved, not when run', async () => {
    const err = await refused(
      (id) =>
        client.expectError(UpdateStepDocument, {
          workflowId: id,
          input: { stepId: 's', config: { to: '+1', text: 'Hello {{ trigger.x ' } },
        }),
      { code: 'BAD_USER_INPUT', field: 'config.text', message: /template/i },
    );
    expect(err.extensions?.issues).toEqual([expect.objectContaining({ path: 'config.text', message: expect.stringMatching(/^Invalid template/) })]);
  });

  test('a condition with a too-long regular expression is refused', async () => {
    await refused(
      (id) =>
        client.expectError(UpdateStepDocument, {
          workflowId: id,
          input: { stepId: 'c', config: { when: { path: 'trigger.text', op: 'matches', value: `^(${'a'.repeat(300)})$` } } },
        }),
      { code: 'BAD_USER_INPUT', field: 'config.when.value', message: /longer than/ },
    );
  });

  test('a condition with an invalid regular expression is refused', async () => {
    await refused(
      (id) =>
        client.expectError(UpdateStepDocument, {
          workflowId: id,
          input: { stepId: 'c', config: { when: { path: 'trigger.text', op: 'matches', value: '([a-z' } } },
        }),
      { code: 'BAD_USER_INPUT', field: 'config.when.value' },
    );
  });

  test('an oversized config is LIMIT_EXCEEDED (MAX_STEP_CONFIG_BYTES)', async () => {
    const small = await startTestServer({ env: { MAX_STEP_CONFIG_BYTES: '1024' } });
    try {
      const id = await seed(small.client);
      const before = await draftOf(id, small.client);
      const big = { to: '+1', text: 'x'.repeat(1100) };
      const added = await small.client.expectError(AddStepDocument, {
        workflowId: id,
        input: { type: 'sms.send', name: 'Big', config: big },
      });
      expect(added.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', field: 'config', limit: 1024 });
      expect(added.extensions?.size).toBeGreaterThan(1024);
      const updated = await small.client.expectError(UpdateStepDocument, { workflowId: id, input: { stepId: 's', config: big } });
      expect(updated.extensions?.code).toBe('LIMIT_EXCEEDED');
      expect(await draftOf(id, small.client)).toEqual(before);
      // Just under the limit is fine.
      await small.client.request(UpdateStepDocument, {
        workflowId: id,
        input: { stepId: 's', config: { to: '+1', text: 'x'.repeat(900) } },
      });
    } finally {
      await small.stop();
    }
  });
});

describe('connections', () => {
  test('connecting an already-connected port is BAD_USER_INPUT', async () => {
    const err = await refused(
      (id) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 't', port: 'next', to: 'e' } }),
      { code: 'BAD_USER_INPUT', field: 'port', message: /already connected/ },
    );
    expect(err.extensions?.currentTarget).toBe('s');
  });

  test('connecting a port to the step it already points to is BAD_USER_INPUT too', async () => {
    await refused(
      (id) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 't', port: 'next', to: 's' } }),
      { code: 'BAD_USER_INPUT', field: 'port' },
    );
  });

  test('an unknown port is BAD_USER_INPUT and lists the real ones', async () => {
    const err = await refused(
      (id) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 'c', port: 'maybe', to: 'e' } }),
      { code: 'BAD_USER_INPUT', field: 'port', message: /maybe/ },
    );
    expect(err.extensions?.ports).toEqual(['true', 'false']);
  });

  test('an unknown port in an insertion point is BAD_USER_INPUT', async () => {
    await refused(
      (id) =>
        client.expectError(AddStepDocument, {
          workflowId: id,
          input: { type: 'end', name: 'X', after: { stepId: 'c', port: 'maybe' } },
        }),
      { code: 'BAD_USER_INPUT', field: 'after.port' },
    );
  });

  test('an edge into a trigger is BAD_USER_INPUT', async () => {
    await refused(
      (id) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 'c', port: 'false', to: 't' } }),
      { code: 'BAD_USER_INPUT', field: 'to', message: /[Tt]rigger/ },
    );
  });

  test('a step connected to itself is BAD_USER_INPUT', async () => {
    await refused(
      (id) => client.expectError(ConnectStepsDocument, { workflowId: id, input: { from: 'c', port: 'false', to: 'c' } }),
      { code: 'BAD_USER_INPUT', field: 'to' },
    );
  });

  test('disconnecting a port that is not connected is BAD_USER_INPUT', async () => {
    await refused(
      (id) => client.expectError(DisconnectStepsDocument, { workflowId: id, input: { from: 'c', port: 'false' } }),
      { code: 'BAD_USER_INPUT', field: 'port' },
    );
  });

  test('removing a trigger that has edges is BAD_USER_INPUT', async () => {
    const err = await refused(
      (id) => client.expectError(RemoveStepDocument, { workflowId: id, input: { stepId: 't' } }),
      { code: 'BAD_USER_INPUT', field: 'stepId', message: /disconnect it first/ },
    );
    expect(err.extensions?.connections).toBe(1);
  });
});

describe('step ids and names', () => {
  test('a duplicate client step id is BAD_USER_INPUT on field id', async () => {
    await refused(
      (id) => client.expectError(AddStepDocument, { workflowId: id, input: { id: 's', type: 'end', name: 'Again' } }),
      { code: 'BAD_USER_INPUT', field: 'id', message: /already exists/ },
    );
  });

  test('a duplicate id within one batch is refused too', async () => {
    const err = await refused(
      (id) =>
        client.expectError(ApplyEditsDocument, {
          workflowId: id,
          edits: [
            { addStep: { id: 'twin', type: 'end', name: 'One' } },
            { addStep: { id: 'twin', type: 'end', name: 'Two' } },
          ],
        }),
      { code: 'BAD_USER_INPUT', field: 'id' },
    );
    expect(err.extensions?.commandIndex).toBe(1);
  });

  test.each(['1step', 'has space', 'dots.not.allowed', 'ümlaut', '', 'x'.repeat(500)])(
    'an invalid client step id %j is BAD_USER_INPUT on field id',
    async (stepId) => {
      await refused(
        (id) => client.expectError(AddStepDocument, { workflowId: id, input: { id: stepId, type: 'end', name: 'Bad id' } }),
        { code: 'BAD_USER_INPUT', field: 'id' },
      );
    },
  );

  test.each([
    ['addStep', (id: string) => client.expectError(AddStepDocument, { workflowId: id, input: { type: 'end', name: '   ' } })],
    ['updateStep', (id: string) => client.expectError(UpdateStepDocument, { workflowId: id, input: { stepId: 's', name: '' } })],
    ['updateWorkflow', (id: string) => client.expectError(UpdateWorkflowDocument, { id, input: { name: ' \t ' } })],
    ['a too-long name', (id: string) => client.expectError(AddStepDocument, { workflowId: id, input: { type: 'end', name: 'n'.repeat(201) } })],
  ])('an empty name (%s) is BAD_USER_INPUT on field name', async (_name, attempt) => {
    await refused(attempt, { code: 'BAD_USER_INPUT', field: 'name' });
  });

  test('createWorkflow with an empty name is BAD_USER_INPUT and creates nothing', async () => {
    const err = await client.expectError(CreateWorkflowDocument, { input: { name: '  ' } });
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  });
});

describe('applyEdits entries and batches', () => {
  test('an entry with two fields set is BAD_USER_INPUT naming the entry', async () => {
    const err = await refused(
      (id) =>
        client.expectError(ApplyEditsDocument, {
          workflowId: id,
          edits: [
            { moveStep: { stepId: 'e', position: { x: 5, y: 5 } } },
            { addStep: { type: 'end', name: 'A' }, removeStep: { stepId: 'e' } },
          ],
        }),
      { code: 'BAD_USER_INPUT', field: 'edits.1' },
    );
    expect(err.extensions?.commandIndex).toBe(1);
  });

  test('an entry with no field set is BAD_USER_INPUT', async () => {
    await refused(
      (id) => client.expectError(ApplyEditsDocument, { workflowId: id, edits: [{ updateWorkflow: { name: 'Fine' } }, {}] }),
      { code: 'BAD_USER_INPUT', field: 'edits.1' },
    );
  });

  test('an empty batch is BAD_USER_INPUT', async () => {
    await refused((id) => client.expectError(ApplyEditsDocument, { workflowId: id, edits: [] }), {
      code: 'BAD_USER_INPUT',
      field: 'edits',
    });
  });

  test('a bad edit deep in a batch undoes the good ones before it', async () => {
    const edits: EditInput[] = [
      { updateWorkflow: { name: 'Renamed' } },
      { addStep: { id: 'n1', type: 'end', name: 'New' } },
      { connectSteps: { from: 'c', port: 'false', to: 'n1' } },
      { removeStep: { stepId: 'e' } },
      { updateStep: { stepId: 's', config: { to: '+1' } } },
    ];
    const err = await refused((id) => client.expectError(ApplyEditsDocument, { workflowId: id, edits }), {
      code: 'BAD_USER_INPUT',
      field: 'config.text',
    });
    expect(err.extensions?.commandIndex).toBe(4);
  });
});

describe('malformed requests', () => {
  test('a string for expectedRevision is a coded request error without a stack trace', async () => {
    const id = await seed();
    const before = await draftOf(id);
    const { status, body } = await client.raw(print(AddStepDocument), {
      workflowId: id,
      input: { type: 'end', name: 'X' },
      expectedRevision: 'one',
    });
    expect(body.errors?.[0]?.extensions?.code).toMatch(/^(BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/);
    expect(body.errors?.[0]?.message).toContain('expectedRevision');
    expect(status).toBe(400);
    noStackTrace(body);
    expect(JSON.stringify(body)).not.toContain(' at ');
    expect(await draftOf(id)).toEqual(before);
  });

  test.each([
    ['a missing required variable', print(AddStepDocument), {}],
    ['a number for a position coordinate', print(MoveStepDocument), { input: { stepId: 's', position: { x: 'left', y: 0 } } }],
    ['an unknown input field', print(AddStepDocument), { input: { type: 'end', name: 'X', colour: 'red' } }],
    ['a float revision', print(AddStepDocument), { input: { type: 'end', name: 'X' }, expectedRevision: 1.5 }],
  ])('%s is a coded request error without a stack trace', async (_label, query, vars) => {
    const id = await seed();
    const before = await draftOf(id);
    const { status, body } = await client.raw(query, { workflowId: id, ...vars });
    expect(body.errors?.[0]?.extensions?.code).toMatch(/^(BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/);
    expect(status).toBe(400);
    noStackTrace(body);
    expect(await draftOf(id)).toEqual(before);
  });

  test('a syntactically broken query is GRAPHQL_PARSE_FAILED without a stack trace', async () => {
    const { status, body } = await client.raw('mutation { addStep(workflowId: ');
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(status).toBe(400);
    noStackTrace(body);
  });

  test('a field that does not exist is GRAPHQL_VALIDATION_FAILED without a stack trace', async () => {
    const { status, body } = await client.raw('query { workflows { nodes { id } } }');
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(status).toBe(400);
    noStackTrace(body);
  });
});

describe('limits', () => {
  test('MAX_STEPS_PER_WORKFLOW=5: a 6th step is LIMIT_EXCEEDED, singly or in a batch', async () => {
    const small = await startTestServer({ env: { MAX_STEPS_PER_WORKFLOW: '5' } });
    try {
      const c = small.client;
      const { createWorkflow } = await c.request(CreateWorkflowDocument, { input: { name: 'Five' } });
      const id = createWorkflow.id;
      await c.request(ApplyEditsDocument, {
        workflowId: id,
        edits: [
          { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
          ...[1, 2, 3].map((n) => ({ addStep: { id: `s${n}`, type: 'end', name: `End ${n}` } })),
        ],
      });
      await c.request(AddStepDocument, { workflowId: id, input: { id: 's4', type: 'end', name: 'Fifth' } });
      const before = await draftOf(id, c);
      expect(before.stepCount).toBe(5);

      const single = await c.expectError(AddStepDocument, { workflowId: id, input: { id: 's5', type: 'end', name: 'Sixth' } });
      expect(single.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 5 });
      expect(await draftOf(id, c)).toEqual(before);

      // Removing one makes room, but a batch that ends at 6 is refused as a whole.
      const batch = await c.expectError(ApplyEditsDocument, {
        workflowId: id,
        edits: [
          { removeStep: { stepId: 's4' } },
          { addStep: { id: 'a', type: 'end', name: 'A' } },
          { addStep: { id: 'b', type: 'end', name: 'B' } },
        ],
      });
      expect(batch.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', commandIndex: 2 });
      expect(await draftOf(id, c)).toEqual(before);

      // Removing one, on its own, does make room for another.
      await c.request(RemoveStepDocument, { workflowId: id, input: { stepId: 's4' } });
      await c.request(AddStepDocument, { workflowId: id, input: { id: 'other', type: 'end', name: 'Other' } });
      expect((await draftOf(id, c)).stepCount).toBe(5);
    } finally {
      await small.stop();
    }
  });

  test('MAX_EDITS_PER_BATCH: a longer batch is LIMIT_EXCEEDED before anything runs', async () => {
    const small = await startTestServer({ env: { MAX_EDITS_PER_BATCH: '3' } });
    try {
      const { createWorkflow } = await small.client.request(CreateWorkflowDocument, { input: { name: 'Batch' } });
      const err = await small.client.expectError(ApplyEditsDocument, {
        workflowId: createWorkflow.id,
        edits: [1, 2, 3, 4].map((n) => ({ addStep: { id: `s${n}`, type: 'end', name: `S${n}` } })),
      });
      expect(err.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 3 });
      const after = await draftOf(createWorkflow.id, small.client);
      expect(after.stepCount).toBe(0);
      expect(after.draftRevision).toBe(0);
    } finally {
      await small.stop();
    }
  });
});
