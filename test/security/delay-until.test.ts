import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ActionTypesDocument,
  AddStepDocument,
  ApplyEditsDocument,
  CreateWebhookDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  UpdateStepDocument,
} from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const DAY_MS = 86_400_000;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A draft: hook → wait (a delay of one hour). */
async function draftWithDelay(): Promise<string> {
  const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name: 'delay until' } });
  await server.client.request(ApplyEditsDocument, {
    workflowId: createWorkflow.id,
    edits: [
      { addStep: { id: 'hook', type: 'trigger.webhook', name: 'Hook' } },
      {
        addStep: {
          id: 'wait',
          type: 'delay',
          name: 'Wait',
          config: { duration: { amount: 1, unit: 'hours' } },
          after: { stepId: 'hook', port: 'next' },
        },
      },
    ],
  });
  return createWorkflow.id;
}

const isoDaysFromNow = (days: number): string => new Date(Date.now() + days * DAY_MS).toISOString();

describe('a static delay until is checked when saved', () => {
  test.each([
    ['in year 9999', '9999-12-31T00:00:00Z', /365 days/],
    ['400 days from now', isoDaysFromNow(400), /365 days/],
    ['on 30 February', '2024-02-30', /not a date|ISO-8601/i],
    ['on 30 February, with a time', '2024-02-30T10:00:00Z', /not a date|ISO-8601/i],
    ['on 29 February of a common year', '2023-02-29', /not a date|ISO-8601/i],
    ['on 31 April', '2025-04-31T00:00:00+02:00', /not a date|ISO-8601/i],
    ['in month 13', '2025-13-01', /not a date|ISO-8601/i],
    ['at hour 25', '2025-06-01T25:00:00Z', /not a date|ISO-8601/i],
    ['at minute 60', '2025-06-01T10:60:00Z', /not a date|ISO-8601/i],
    ['with an offset of 24 hours', '2025-06-01T10:00:00+24:00', /not a date|ISO-8601/i],
  ])('%s (%s): addStep, updateStep and applyEdits answer BAD_USER_INPUT naming config.until', async (_name, until, message) => {
    const workflowId = await draftWithDelay();
    const { client } = server;
    const config = { until };

    const added = await client.expectError(AddStepDocument, { workflowId, input: { type: 'delay', name: 'Later', config } });
    expect(added.extensions?.code, added.message).toBe('BAD_USER_INPUT');
    expect(added.extensions?.field).toBe('config.until');
    expect(added.message).toMatch(message);

    const updated = await client.expectError(UpdateStepDocument, { workflowId, input: { stepId: 'wait', config } });
    expect(updated.extensions?.code, updated.message).toBe('BAD_USER_INPUT');
    expect(updated.extensions?.field).toBe('config.until');

    const edited = await client.expectError(ApplyEditsDocument, {
      workflowId,
      edits: [{ updateStep: { stepId: 'wait', config } }],
    });
    expect(edited.extensions?.code, edited.message).toBe('BAD_USER_INPUT');
    expect(edited.extensions?.field).toBe('config.until');
  });

  test.each([
    ['300 days from now', isoDaysFromNow(300)],
    ['a leap day', '2024-02-29T09:00:00Z'],
    ['a zone offset', '2025-03-01T09:30:00+05:30'],
    ['a date only', '2020-01-01'],
    ['a template', '{{ trigger.body.at }}'],
  ])('accepts %s (%s)', async (_name, until) => {
    const workflowId = await draftWithDelay();
    const { updateStep } = await server.client.request(UpdateStepDocument, { workflowId, input: { stepId: 'wait', config: { until } } });
    expect(updateStep.label).toEqual(expect.any(String));
  });
});

describe('a templated delay until is checked when rendered', () => {
  test.each([
    ['an impossible date', '2024-02-30T00:00:00Z', /not an ISO-8601 date/],
    ['a year-9999 date', '9999-12-31T00:00:00Z', /more than 365 days/],
  ])('%s fails the step without retry', async (_name, at, message) => {
    const workflowId = await draftWithDelay();
    const { client } = server;
    await client.request(ApplyEditsDocument, {
      workflowId,
      edits: [
        { updateStep: { stepId: 'wait', config: { until: '{{ trigger.body.at }}' } } },
        { addStep: { id: 'done', type: 'end', name: 'Done', after: { stepId: 'wait', port: 'next' } } },
      ],
    });
    await client.request(PublishWorkflowDocument, { workflowId });
    const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId });
    const res = await fetch(`${new URL(server.url).origin}/hooks/${createWebhook.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ at }),
    });
    expect(res.status).toBe(202);
    const { instanceId } = (await res.json()) as { instanceId: string };
    const done = await waitFor(
      async () => (await client.request(InstanceDocument, { id: instanceId })).workflowInstance,
      (i) => ['COMPLETED', 'FAILED'].includes(i.status),
      { what: 'the instance to finish' },
    );
    expect(done.status).toBe('FAILED');
    const wait = done.stepRuns.find((r) => r.stepId === 'wait');
    expect(wait?.status).toBe('FAILED');
    expect(wait?.attempt).toBe(1);
    expect(wait?.error?.retryable).toBe(false);
    expect(wait?.error?.message).toMatch(message);
  });
});

describe("the delay's JSON Schema carries the bounds the server enforces", () => {
  interface Schema {
    properties?: Record<string, Schema>;
    anyOf?: Schema[];
    oneOf?: Schema[];
    const?: unknown;
    enum?: unknown[];
    maximum?: number;
  }

  test('each unit of a duration has its own maximum (365 days)', async () => {
    const { actionTypes } = await server.client.request(ActionTypesDocument);
    const schema = actionTypes.find((t) => t.type === 'delay')?.configSchema as Schema;
    const duration = schema.properties?.duration;
    const branches = duration?.oneOf ?? duration?.anyOf ?? [];
    const maxOf = Object.fromEntries(
      branches.map((b) => {
        const unit = b.properties?.unit;
        return [String(unit?.const ?? unit?.enum?.[0]), b.properties?.amount?.maximum];
      }),
    );
    expect(maxOf).toEqual({ seconds: 365 * 86_400, minutes: 365 * 1_440, hours: 365 * 24, days: 365 });
  });
});
