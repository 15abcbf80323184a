import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineAction } from '../../src/actions/action-definition.js';
import { ActionRegistry } from '../../src/actions/action-registry.js';
import { builtinActions } from '../../src/actions/builtin-actions.js';
import { defineSendMessageAction } from '../../src/actions/send-message.helper.js';
import { TRIGGER_PORTS } from '../../src/actions/trigger-ports.js';
import { NEXT_PORT } from '../../src/domain/graph.js';
import type { MessagingProvider, OutgoingMessage, SentMessage } from '../../src/ports/messaging-provider.port.js';
import { DeliveryLedger, type DeliveryLedgerOptions } from '../../src/providers/delivery-ledger.js';
import { defineMessagingVendor } from '../../src/providers/messaging-vendor.js';
import { ProviderFailure, ProviderFailureCode } from '../../src/providers/provider-failure.js';
import { callVendor } from '../../src/providers/vendor-http.js';
import { messagingVendors } from '../../src/providers/vendors.js';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import {
  ApplyEditsDocument,
  CreateWebhookDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstancesDocument,
  PublishWorkflowDocument,
  StartWorkflowDocument,
} from '../../src/sdk/operations.generated.js';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { schedulerTable, startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

// ---------------------------------------------------------------------------------------------
// A messaging vendor and two trigger types declared the way a contributor would add them: one
// declaration each, and one line in a registry list (below, in the test's own lists).
// ---------------------------------------------------------------------------------------------

/** Carrier pigeons: one flight per message, booked at the loft's API. */
class PigeonMessagingProvider implements MessagingProvider {
  private readonly ledger: DeliveryLedger;
  constructor(private readonly options: DeliveryLedgerOptions & { loftUrl: string; band: string; fetch?: typeof fetch; timeoutMs: number }) {
    this.ledger = new DeliveryLedger(options);
  }

  async sendMessage(message: OutgoingMessage): Promise<SentMessage> {
    const record = await this.ledger.deliver('pigeon', message, async () => {
      const response = await callVendor({
        vendor: 'Pigeon loft',
        fetch: this.options.fetch ?? globalThis.fetch,
        url: `${this.options.loftUrl}/flights`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ band: this.options.band, to: message.to, text: message.text }),
        timeoutMs: this.options.timeoutMs,
      });
      if (response.status !== 201) {
        throw new ProviderFailure(`The loft refused the flight (HTTP ${response.status})`, {
          code: ProviderFailureCode.PROVIDER_REJECTED,
          retryable: false,
          status: response.status,
        });
      }
      return z.object({ flight: z.string() }).parse(response.json).flight;
    });
    return { providerMessageId: record.providerMessageId ?? `pigeon-${record.id}` };
  }
}

const pigeonVendor = defineMessagingVendor({
  name: 'pigeon',
  displayName: 'Carrier pigeon',
  channels: ['pigeon'],
  settings: z.object({
    PIGEON_LOFT_URL: z.url().optional().meta({ description: "The loft's API; unset, pigeon messages go to the sandbox." }),
    PIGEON_BAND: z
      .string()
      .regex(/^[A-Z]{2}\d{4}$/, 'must look like AB1234')
      .default('ZZ0000')
      .meta({ description: 'The leg band of the pigeons that fly for this deployment.' }),
  }),
  create: (s, deps) => (s.PIGEON_LOFT_URL ? new PigeonMessagingProvider({ ...deps, loftUrl: s.PIGEON_LOFT_URL, band: s.PIGEON_BAND }) : undefined),
});

const pigeonSendAction = defineSendMessageAction({
  type: 'pigeon.send',
  channel: 'pigeon',
  displayName: 'Send by pigeon',
  description: 'Ties a message to a pigeon.',
});

/** Started by the workflow's webhook URL, like `trigger.webhook`, with a form's fields as input. */
const formSubmittedTrigger = defineAction({
  type: 'test.formSubmitted',
  category: 'trigger',
  displayName: 'Form submitted',
  description: 'Starts the workflow when the form posts to its webhook URL.',
  config: z.strictObject({ form: z.string().min(1) }),
  ports: TRIGGER_PORTS,
  start: { kind: 'webhook' },
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: ctx.context.trigger };
  },
});

/** Started by an SMS from one number only. */
const vipTextTrigger = defineAction({
  type: 'test.vipText',
  category: 'trigger',
  displayName: 'Text from a VIP',
  description: 'Starts the workflow when the VIP texts us.',
  config: z.strictObject({ from: z.string().regex(/^\+\d{6,15}$/) }),
  ports: TRIGGER_PORTS,
  start: { kind: 'inbound', channel: () => 'sms', matches: (config, message) => message.from === config.from },
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: ctx.context.trigger };
  },
});

/** The test's registries: the built-in lists and one line each. */
const vendors = [...messagingVendors, pigeonVendor];
const registry = new ActionRegistry([...builtinActions, pigeonSendAction, formSubmittedTrigger, vipTextTrigger]);

// ---------------------------------------------------------------------------------------------

async function publish(client: GraphQLClient, trigger: { type: string; config: Record<string, unknown> }, then?: { type: string; config: Record<string, unknown> }) {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: `${trigger.type} workflow` } });
  const edits = [
    { addStep: { id: 'start', type: trigger.type, name: 'Start', config: trigger.config } },
    ...(then ? [{ addStep: { id: 'send', type: then.type, name: 'Send', config: then.config, after: { stepId: 'start' } } }] : []),
    { addStep: { id: 'done', type: 'end', name: 'Done', after: { stepId: then ? 'send' : 'start' } } },
  ];
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const finished = (client: GraphQLClient, id: string) =>
  waitFor(
    async () => (await client.request(InstanceDocument, { id })).workflowInstance,
    (i) => ['COMPLETED', 'FAILED'].includes(i.status),
    { what: `instance ${id} to finish` },
  );

describe('a messaging vendor registered with one line', () => {
  const loft = new FakeHttpServer();
  let server: TestServer;

  beforeAll(async () => {
    const loftUrl = await loft.start();
    loft.respond = (req) => ({
      status: 201,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ flight: `FL-${loft.received.indexOf(req) + 1}` }),
    });
    server = await startTestServer({ vendors, registry, env: { PIGEON_LOFT_URL: loftUrl, PIGEON_BAND: 'NL2024' } });
  });
  afterAll(async () => {
    await server?.stop();
    await loft.stop();
  });

  test('carries its own channel, with its own settings, for a workflow started through a test-only webhook trigger', async () => {
    const { client } = server;
    const workflowId = await publish(
      client,
      { type: 'test.formSubmitted', config: { form: 'contact' } },
      { type: 'pigeon.send', config: { to: '{{ trigger.body.loft }}', text: 'Hello {{ trigger.body.name }}' } },
    );
    const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId });
    const call = await fetch(createWebhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ann', loft: 'Amsterdam' }),
    });
    expect(call.status).toBe(202);
    const { instanceId } = (await call.json()) as { instanceId: string };

    const instance = await finished(client, instanceId);
    expect(instance.status).toBe('COMPLETED');
    expect(loft.received.map((r) => JSON.parse(r.body))).toEqual([{ band: 'NL2024', to: 'Amsterdam', text: 'Hello Ann' }]);
    expect(instance.stepRuns.find((s) => s.stepId === 'send')?.output).toEqual({ providerMessageId: 'FL-1', to: 'Amsterdam', text: 'Hello Ann' });
    expect(instance.messages.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ stepId: 'send', channel: 'pigeon', kind: 'message', provider: 'pigeon', providerMessageId: 'FL-1', status: 'sent' }),
    ]);
  });

  test('the built-in vendors keep their channels next to it', async () => {
    const { client } = server;
    const workflowId = await publish(client, { type: 'trigger.manual', config: {} }, { type: 'sms.send', config: { to: '+15550001111', text: 'hi' } });
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId });
    const instance = await finished(client, startWorkflow.instance.id);
    expect(instance.messages.edges.map((e) => [e.node.channel, e.node.provider])).toEqual([['sms', 'sandbox']]);
  });

  test('its settings are checked with the configuration, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({ PIGEON_BAND: 'pigeon-7' }, { vendors });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ problems: [{ variable: 'PIGEON_BAND', message: 'must look like AB1234' }] });
  });

  test('left unset, its channel goes to the sandbox; in a deployment without it, the send fails for good', async () => {
    // Job tables of their own: a worker of another server of this file would run their steps with its vendors.
    const unset = await startTestServer({ vendors, registry, env: { SCHEDULER_TABLE: `${schedulerTable}_unset` } });
    const without = await startTestServer({ registry, env: { SCHEDULER_TABLE: `${schedulerTable}_without` } });
    try {
      const sandboxed = await publish(unset.client, { type: 'trigger.manual', config: {} }, { type: 'pigeon.send', config: { to: 'Utrecht', text: 'coo' } });
      const run = await unset.client.request(StartWorkflowDocument, { workflowId: sandboxed });
      const recorded = await finished(unset.client, run.startWorkflow.instance.id);
      expect(recorded.status).toBe('COMPLETED');
      expect(recorded.messages.edges.map((e) => [e.node.channel, e.node.provider])).toEqual([['pigeon', 'sandbox']]);

      const unknown = await publish(without.client, { type: 'trigger.manual', config: {} }, { type: 'pigeon.send', config: { to: 'Utrecht', text: 'coo' } });
      const failedRun = await without.client.request(StartWorkflowDocument, { workflowId: unknown });
      const failed = await finished(without.client, failedRun.startWorkflow.instance.id);
      expect(failed.status).toBe('FAILED');
      expect(failed.stepRuns.find((s) => s.stepId === 'send')).toMatchObject({ attempt: 1, error: { retryable: false } });
      expect(failed.stepRuns.find((s) => s.stepId === 'send')?.error?.message).toMatch(/channel 'pigeon'/);
      expect(loft.received).toHaveLength(1);
    } finally {
      await unset.stop();
      await without.stop();
    }
  });
});

describe('a trigger type started by inbound messages, registered with one line', () => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let server: TestServer;

  beforeAll(async () => {
    // Inbound messages start matching workflows of every workspace: a database of this file's own.
    database = await isolatedDatabase();
    server = await startTestServer({ registry, env: { ...database.env, INBOUND_ALLOW_UNSIGNED: 'true' } });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  const text = (from: string, sid: string) =>
    fetch(`${new URL(server.url).origin}/inbound/twilio`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ MessageSid: sid, From: from, To: '+15550009999', Body: 'hello' }).toString(),
    });

  test('is started through the ingress it declares, for the messages it matches only', async () => {
    const { client } = server;
    const vip = await publish(client, { type: 'test.vipText', config: { from: '+15550001234' } });

    const other = await text('+15550004321', 'SMother0001');
    expect(other.status).toBe(200);
    expect(other.headers.get('x-wfb-started-count')).toBe('0');

    const matching = await text('+15550001234', 'SMvip000001');
    expect(matching.status).toBe(200);
    expect(matching.headers.get('x-wfb-started-count')).toBe('1');
    const [instanceId] = matching.headers.get('x-wfb-started-instances')!.split(',');
    const instance = await finished(client, instanceId!);
    expect(instance).toMatchObject({ workflowId: vip, status: 'COMPLETED' });
    expect(instance.input).toMatchObject({ message: { id: 'SMvip000001', from: '+15550001234', channel: 'sms', text: 'hello' } });
    const { workflowInstances } = await client.request(InstancesDocument, { workflowId: vip, first: 10 });
    expect(workflowInstances.edges).toHaveLength(1);
  });

  test('is not started by a webhook call, which it does not declare', async () => {
    const { client } = server;
    const workflowId = await publish(client, { type: 'test.vipText', config: { from: '+15550001234' } });
    const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId });
    const call = await fetch(createWebhook.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(call.status).toBe(409);
    expect(await call.json()).toMatchObject({ error: { code: 'WORKFLOW_NOT_STARTABLE' } });
  });
});
