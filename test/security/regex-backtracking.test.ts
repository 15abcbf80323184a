import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AddStepDocument,
  ApplyEditsDocument,
  CreateWebhookDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  UpdateStepDocument,
  type EditInput,
} from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { RESPONSIVE_WITHIN_MS, startResponsivenessProbe } from './support/responsiveness-probe.js';

/** Catastrophic on a backtracking engine: each extra character of a non-matching input doubles the work. */
const CATASTROPHIC = '^(\\w+\\s?)+$';

let server: TestServer;
let origin: string;
beforeAll(async () => {
  server = await startTestServer();
  origin = new URL(server.url).origin;
  // One run of the same shape first, so that first-use costs (query plans, the engine's code
  // being compiled by V8) are not taken for the attack's.
  await outcome(await startThroughWebhook(await publishedConditionHook('^warm'), JSON.stringify({ text: 'warm up' })));
});
afterAll(async () => {
  await server?.stop();
});

const matchesLeaf = (value: string) => ({ path: 'trigger.body.text', op: 'matches', value });

/** A published webhook workflow: hook → check (condition) → yes | no. Returns its webhook token. */
async function publishedConditionHook(pattern: string): Promise<string> {
  const { client } = server;
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: `regex ${pattern}` } });
  const workflowId = createWorkflow.id;
  const edits: EditInput[] = [
    { addStep: { id: 'hook', type: 'trigger.webhook', name: 'Hook' } },
    {
      addStep: {
        id: 'check',
        type: 'condition',
        name: 'Check',
        config: { when: matchesLeaf(pattern) },
        after: { stepId: 'hook', port: 'next' },
      },
    },
    { addStep: { id: 'yes', type: 'end', name: 'Yes', after: { stepId: 'check', port: 'true' } } },
    { addStep: { id: 'no', type: 'end', name: 'No', after: { stepId: 'check', port: 'false' } } },
  ];
  await client.request(ApplyEditsDocument, { workflowId, edits });
  await client.request(PublishWorkflowDocument, { workflowId });
  const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId });
  return createWebhook.token;
}

const STATUS_QUERY = 'query ($id: ID!) { workflowInstance(id: $id) { status } }';

/** Posts `body` to the webhook and waits (polling the status alone) for the instance to finish; returns its id. */
async function startThroughWebhook(token: string, body: string): Promise<string> {
  const res = await fetch(`${origin}/hooks/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(202);
  const { instanceId } = (await res.json()) as { instanceId: string };
  await waitFor(
    async () =>
      (await server.client.request<{ workflowInstance: { status: string } }, { id: string }>(STATUS_QUERY, { id: instanceId }))
        .workflowInstance.status,
    (status) => ['COMPLETED', 'FAILED'].includes(status),
    { what: 'the webhook instance to finish' },
  );
  return instanceId;
}

/** The finished instance: its status, the steps that succeeded, and the condition's output. */
async function outcome(instanceId: string): Promise<{ status: string; ran: string[]; result: unknown }> {
  const { workflowInstance: done } = await server.client.request(InstanceDocument, { id: instanceId });
  const ran = done.stepRuns.filter((r) => r.status === 'SUCCEEDED').map((r) => r.stepId);
  return { status: done.status, ran, result: done.stepRuns.find((r) => r.stepId === 'check')?.output };
}

describe('a matches condition on a catastrophic pattern, started through a public webhook', () => {
  // 31 characters froze a backtracking engine for 12.6 s; each further character doubles that.
  test.each([
    ['31 characters', `${'a'.repeat(30)}!`, false],
    ['64 characters', `${'a'.repeat(63)}!`, false],
    // Only the first REGEX_MAX_INPUT_LENGTH characters are read: the '!' must fall within them.
    ['10,000 characters', `${'a'.repeat(4_000)}!${'a'.repeat(5_999)}`, false],
    ['a matching input', 'hello world from the shop', true],
  ])('%s: the instance takes the right branch and the server stays responsive', async (_name, text, matches) => {
    const token = await publishedConditionHook(CATASTROPHIC);
    // Built before the probe starts: building the body is not the attack.
    const body = JSON.stringify({ text });
    const probe = startResponsivenessProbe({ url: server.url, apiKey: server.apiKey });
    await probe.ready;
    const instanceId = await startThroughWebhook(token, body);
    const report = await probe.stop();
    const run = await outcome(instanceId);

    expect(run.status).toBe('COMPLETED');
    expect(run.result).toEqual({ result: matches });
    expect(run.ran).toContain(matches ? 'yes' : 'no');
    expect(run.ran).not.toContain(matches ? 'no' : 'yes');
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });
});

describe('patterns the linear-time engine cannot take are refused at save', () => {
  const UNSUPPORTED: readonly [string, string][] = [
    ['a backreference', '^(a+)\\1$'],
    ['a lookahead', '^(?=.*\\d)\\w+$'],
    ['a negative lookahead', '^(?!spam)\\w+$'],
    ['a lookbehind', '(?<=\\$)\\d+'],
    ['a negative lookbehind', '(?<!no )thanks'],
    ['a possessive quantifier', 'a++b'],
    ['an atomic group', '(?>a+)b'],
  ];

  async function draftWorkflow(): Promise<string> {
    const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name: 'unsupported regex' } });
    await server.client.request(ApplyEditsDocument, {
      workflowId: createWorkflow.id,
      edits: [
        { addStep: { id: 'hook', type: 'trigger.webhook', name: 'Hook' } },
        {
          addStep: {
            id: 'check',
            type: 'condition',
            name: 'Check',
            config: { when: matchesLeaf('^ok$') },
            after: { stepId: 'hook', port: 'next' },
          },
        },
      ],
    });
    return createWorkflow.id;
  }

  test.each(UNSUPPORTED)('%s (%s): addStep, updateStep and applyEdits answer BAD_USER_INPUT naming the field', async (_name, pattern) => {
    const workflowId = await draftWorkflow();
    const { client } = server;

    const added = await client.expectError(AddStepDocument, {
      workflowId,
      input: { type: 'condition', name: 'Bad', config: { when: matchesLeaf(pattern) } },
    });
    expect(added.extensions?.code, added.message).toBe('BAD_USER_INPUT');
    expect(added.extensions?.field).toBe('config.when.value');
    expect(added.message).toMatch(/regular expression/i);

    const nested = { all: [{ path: 'trigger.body.kind', op: 'exists' }, { any: [{ not: matchesLeaf(pattern) }] }] };
    const updated = await client.expectError(UpdateStepDocument, { workflowId, input: { stepId: 'check', config: { when: nested } } });
    expect(updated.extensions?.code, updated.message).toBe('BAD_USER_INPUT');
    expect(updated.extensions?.field).toBe('config.when.all.1.any.0.not.value');

    const cases = [
      { port: 'a', when: matchesLeaf('^a$') },
      { port: 'b', when: matchesLeaf('^b$') },
      { port: 'c', when: matchesLeaf(pattern) },
    ];
    const edited = await client.expectError(ApplyEditsDocument, {
      workflowId,
      edits: [{ addStep: { type: 'switch', name: 'Route', config: { cases } } }],
    });
    expect(edited.extensions?.code, edited.message).toBe('BAD_USER_INPUT');
    expect(edited.extensions?.field).toBe('config.cases.2.when.value');
  });

  test('the catastrophic pattern itself is accepted: on a linear-time engine it is harmless', async () => {
    const workflowId = await draftWorkflow();
    const { updateStep } = await server.client.request(UpdateStepDocument, {
      workflowId,
      input: { stepId: 'check', config: { when: matchesLeaf(CATASTROPHIC) } },
    });
    expect(updateStep.workflow.draftRevision).toBe(2);
  });
});
