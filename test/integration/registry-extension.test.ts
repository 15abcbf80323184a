import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineAction } from '../../src/actions/action-definition.js';
import { ActionRegistry } from '../../src/actions/action-registry.js';
import { builtinActions } from '../../src/actions/builtin-actions.js';
import { templateString } from '../../src/actions/config-fields.js';
import { EXTERNAL_CALL_RETRY } from '../../src/actions/default-retry-policies.js';
import { NEXT_PORT } from '../../src/domain/graph.js';
import {
  ActionTypesByCategoryDocument,
  AddStepDocument,
  ApplyEditsDocument,
  CreateWorkflowDocument,
  PublishWorkflowDocument,
  UpdateStepDocument,
  WorkflowDocument,
  WorkflowVersionDocument,
} from '../../src/sdk/operations.generated.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** A new integration, declared the way a contributor would add one. */
const slackAction = defineAction({
  type: 'slack.postMessage',
  category: 'action',
  displayName: 'Post to Slack',
  description: 'Posts a message to a Slack channel.',
  config: z.strictObject({
    channel: z.string().regex(/^#[a-z0-9_-]+$/, 'must be a channel like #general'),
    text: templateString({ min: 1 }),
    unfurlLinks: z.boolean().default(false),
  }),
  ports: [{ name: NEXT_PORT, required: false }],
  retry: EXTERNAL_CALL_RETRY,
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: { channel: ctx.config.channel, text: ctx.render(ctx.config.text) } };
  },
});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ registry: new ActionRegistry([...builtinActions, slackAction]) });
});
afterAll(async () => {
  await server?.stop();
});

async function newWorkflow(): Promise<string> {
  const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name: 'Slack alerts' } });
  return createWorkflow.id;
}

describe('an action type registered by the deployment', () => {
  test('is listed in actionTypes with its JSON Schema and ports, after the built-ins', async () => {
    const { actionTypes } = await server.client.request(ActionTypesByCategoryDocument, {});
    expect(actionTypes.map((t) => t.type)).toEqual([...builtinActions.map((a) => a.type), 'slack.postMessage']);
    const slack = actionTypes.find((t) => t.type === 'slack.postMessage')!;
    expect(slack).toMatchObject({
      category: 'ACTION',
      displayName: 'Post to Slack',
      description: 'Posts a message to a Slack channel.',
    });
    const schema = slack.configSchema as {
      type: string;
      properties: Record<string, Record<string, unknown>>;
      required?: string[];
      additionalProperties?: boolean;
    };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties).sort()).toEqual(['channel', 'text', 'unfurlLinks']);
    expect(schema.properties.channel).toMatchObject({ type: 'string', pattern: '^#[a-z0-9_-]+$' });
    expect(schema.properties.text).toMatchObject({ type: 'string', minLength: 1, 'x-template': true });
    expect(schema.properties.unfurlLinks).toMatchObject({ type: 'boolean', default: false });
    // A field with a default is optional for the editor.
    expect([...(schema.required ?? [])].sort()).toEqual(['channel', 'text']);
    expect(schema.additionalProperties).toBe(false);

    const byCategory = await server.client.request(ActionTypesByCategoryDocument, { category: 'ACTION' });
    expect(byCategory.actionTypes.map((t) => t.type)).toContain('slack.postMessage');
    const triggers = await server.client.request(ActionTypesByCategoryDocument, { category: 'TRIGGER' });
    expect(triggers.actionTypes.map((t) => t.type)).not.toContain('slack.postMessage');
  });

  // Regression: ports used to be listed only when the empty config `{}` was valid for the type,
  // so every type with a required field was listed with no ports at all.
  test('lists its fixed output ports even though an empty config is not valid for it', async () => {
    const { actionTypes } = await server.client.request(ActionTypesByCategoryDocument, {});
    const ports = Object.fromEntries(actionTypes.map((t) => [t.type, t.outputPorts]));
    // An action type of the deployment's gets the error port too, without declaring it.
    expect(ports['slack.postMessage']).toEqual([
      { name: 'next', required: false },
      { name: 'error', required: false },
    ]);
    expect(actionTypes.find((t) => t.type === 'slack.postMessage')?.dynamicPorts).toBe(false);
    expect(actionTypes.find((t) => t.type === 'switch')?.dynamicPorts).toBe(true);
    expect(ports['condition']).toEqual([
      { name: 'true', required: true },
      { name: 'false', required: true },
    ]);
  });

  test('can be added as a step; its config is validated and defaults are applied', async () => {
    const id = await newWorkflow();
    const added = await server.client.request(AddStepDocument, {
      workflowId: id,
      input: { id: 'notify', type: 'slack.postMessage', name: 'Tell #sales', config: { channel: '#sales', text: 'New lead {{ trigger.name }}' } },
    });
    expect(added.addStep.label).toBe("Added step 'Tell #sales'");
    const { workflow } = await server.client.request(WorkflowDocument, { id, first: 10 });
    expect(workflow.steps.edges[0]!.node).toMatchObject({
      id: 'notify',
      type: 'slack.postMessage',
      config: { channel: '#sales', text: 'New lead {{ trigger.name }}', unfurlLinks: false },
    });

    const cases: [Record<string, unknown>, string][] = [
      [{ text: 'x' }, 'config.channel'],
      [{ channel: 'sales', text: 'x' }, 'config.channel'],
      [{ channel: '#sales', text: '' }, 'config.text'],
      [{ channel: '#sales', text: '{{ trigger.name ' }, 'config.text'],
      [{ channel: '#sales', text: 'x', unfurlLinks: 'yes' }, 'config.unfurlLinks'],
      [{ channel: '#sales', text: 'x', token: 'xoxb-secret' }, 'config.token'],
    ];
    for (const [config, field] of cases) {
      const err = await server.client.expectError(AddStepDocument, {
        workflowId: id,
        input: { type: 'slack.postMessage', name: 'Bad', config },
      });
      expect({ config, code: err.extensions?.code, field: err.extensions?.field }).toEqual({ config, code: 'BAD_USER_INPUT', field });
    }
    const updateErr = await server.client.expectError(UpdateStepDocument, {
      workflowId: id,
      input: { stepId: 'notify', config: { channel: '#sales' } },
    });
    expect(updateErr.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'config.text' });
    const after = await server.client.request(WorkflowDocument, { id, first: 10 });
    expect(after.workflow.stepCount).toBe(1);
    expect(after.workflow.draftRevision).toBe(1);
  });

  test('a workflow using it publishes, and the version keeps the step', async () => {
    const id = await newWorkflow();
    await server.client.request(ApplyEditsDocument, {
      workflowId: id,
      edits: [
        { addStep: { id: 'hook', type: 'trigger.webhook', name: 'Lead arrives' } },
        {
          addStep: {
            id: 'slack',
            type: 'slack.postMessage',
            name: 'Tell #sales',
            config: { channel: '#sales', text: 'Lead: {{ trigger.body.email }}', unfurlLinks: true },
            after: { stepId: 'hook' },
          },
        },
        { addStep: { id: 'done', type: 'end', name: 'Done', after: { stepId: 'slack' } } },
      ],
    });
    const published = await server.client.request(PublishWorkflowDocument, { workflowId: id });
    expect(published.publishWorkflow.workflow.status).toBe('ACTIVE');
    const { workflowVersion } = await server.client.request(WorkflowVersionDocument, { workflowId: id, version: 1 });
    expect(workflowVersion.steps.find((s) => s.id === 'slack')).toMatchObject({
      type: 'slack.postMessage',
      config: { channel: '#sales', text: 'Lead: {{ trigger.body.email }}', unfurlLinks: true },
    });
    expect(workflowVersion.edges).toEqual(
      expect.arrayContaining([
        { from: 'hook', port: 'next', to: 'slack' },
        { from: 'slack', port: 'next', to: 'done' },
      ]),
    );
  });
});

describe('a server without it', () => {
  test('does not know the type', async () => {
    const plain = await startTestServer();
    try {
      const { actionTypes } = await plain.client.request(ActionTypesByCategoryDocument, {});
      expect(actionTypes.map((t) => t.type)).not.toContain('slack.postMessage');
      const { createWorkflow } = await plain.client.request(CreateWorkflowDocument, { input: { name: 'No Slack' } });
      const err = await plain.client.expectError(AddStepDocument, {
        workflowId: createWorkflow.id,
        input: { type: 'slack.postMessage', name: 'Slack', config: { channel: '#sales', text: 'x' } },
      });
      expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'type' });
    } finally {
      await plain.stop();
    }
  });
});
