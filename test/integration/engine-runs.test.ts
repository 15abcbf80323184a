import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  CancelInstanceDocument,
  CreateWorkflowDocument,
  InstanceCountsDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  RetryInstanceDocument,
  StartWorkflowDocument,
  UpdateStepDocument,
  type EditInput,
  type InstanceQuery,
} from '../../src/sdk/operations.generated.js';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';

type Instance = InstanceQuery['workflowInstance'];

let server: TestServer;
let client: GraphQLClient;
const crm = new FakeHttpServer();
let crmUrl: string;

beforeAll(async () => {
  crmUrl = await crm.start();
  server = await startTestServer({ env: { HTTP_ALLOW_PRIVATE_NETWORKS: 'true', SWEEP_INTERVAL_MS: '200' } });
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
  await crm.stop();
});

async function publish(name: string, edits: EditInput[]): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const instanceOf = async (id: string, c: GraphQLClient = client): Promise<Instance> =>
  (await c.request(InstanceDocument, { id })).workflowInstance;

const until = (id: string, statuses: string[], c: GraphQLClient = client) =>
  waitFor(() => instanceOf(id, c), (i) => statuses.includes(i.status), { what: `instance ${id} to reach ${statuses.join('/')}` });

/** The scenario: message → price? → DM / like → delay → WhatsApp follow-up → CRM. */
function priceScenario(delaySeconds: number, crmPath = '/leads'): EditInput[] {
  return [
    { addStep: { id: 'incoming', type: 'trigger.incomingMessage', name: 'Message arrives', config: { channel: 'instagram' } } },
    {
      addStep: {
        id: 'askedPrice',
        type: 'condition',
        name: 'Asks for the price?',
        config: { when: { path: 'trigger.message.text', op: 'contains', value: 'price', ignoreCase: true } },
      },
    },
    {
      addStep: {
        id: 'sendPrices',
        type: 'instagram.sendDirectMessage',
        name: 'Send price list',
        config: { to: '{{trigger.message.from}}', text: 'Our prices: https://example.com/prices' },
      },
    },
    { addStep: { id: 'like', type: 'instagram.likeMessage', name: 'Like the message', config: { messageId: '{{trigger.message.id}}', recipient: '{{trigger.message.from}}' } } },
    { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: delaySeconds, unit: 'seconds' } } } },
    {
      addStep: {
        id: 'followUp',
        type: 'whatsapp.sendMessage',
        name: 'WhatsApp follow-up',
        config: { to: '{{trigger.phone}}', text: 'Any questions, {{trigger.name}}?' },
      },
    },
    {
      addStep: {
        id: 'crm',
        type: 'http.request',
        name: 'Tell the CRM',
        config: {
          method: 'POST',
          url: `${crmUrl}${crmPath}`,
          headers: { 'content-type': 'application/json' },
          body: '{"who":"{{trigger.name}}","branch":"{{steps.askedPrice.output.result}}"}',
          retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 200 },
        },
      },
    },
    { connectSteps: { from: 'incoming', port: 'next', to: 'askedPrice' } },
    { connectSteps: { from: 'askedPrice', port: 'true', to: 'sendPrices' } },
    { connectSteps: { from: 'askedPrice', port: 'false', to: 'like' } },
    { connectSteps: { from: 'sendPrices', port: 'next', to: 'wait' } },
    { connectSteps: { from: 'like', port: 'next', to: 'wait' } },
    { connectSteps: { from: 'wait', port: 'next', to: 'followUp' } },
    { connectSteps: { from: 'followUp', port: 'next', to: 'crm' } },
  ];
}

const message = (text: string, name = 'Ana') => ({
  message: { id: 'mid.1', from: 'ig-user-7', text },
  phone: '+15550101',
  name,
});

describe('running the price-request scenario', () => {
  test('true branch: In progress → Waiting → Completed, with the DM, the follow-up and the CRM call', async () => {
    const workflowId = await publish('Price requests', priceScenario(1, '/true-branch'));
    const started = await client.request(StartWorkflowDocument, { workflowId, input: message('What is the PRICE?') });
    expect(started.startWorkflow.created).toBe(true);
    const id = started.startWorkflow.instance.id;

    const waiting = await until(id, ['WAITING', 'COMPLETED', 'FAILED']);
    expect(waiting.status).toBe('WAITING');
    expect(waiting.statusLabel).toBe('Waiting');
    expect(waiting.currentStepId).toBe('wait');

    const done = await until(id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const byStep = Object.fromEntries(done.stepRuns.map((r) => [r.stepId, r]));
    expect(byStep.askedPrice!.output).toEqual({ result: true });
    expect(byStep.sendPrices!.status).toBe('SUCCEEDED');
    expect(byStep.like!.status).toBe('SKIPPED');
    expect(byStep.followUp!.output).toMatchObject({ to: '+15550101', text: 'Any questions, Ana?' });
    expect(byStep.crm!.output).toMatchObject({ status: 200 });

    // The sandbox provider recorded what would have been sent.
    expect(done.messages.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ stepId: 'sendPrices', channel: 'instagram', kind: 'message', recipient: 'ig-user-7', text: 'Our prices: https://example.com/prices', provider: 'sandbox', status: 'sent' }),
      expect.objectContaining({ stepId: 'followUp', channel: 'whatsapp', kind: 'message', recipient: '+15550101', text: 'Any questions, Ana?', provider: 'sandbox', status: 'sent' }),
    ]);

    const calls = crm.received.filter((r) => r.url === '/true-branch');
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]!.body)).toEqual({ who: 'Ana', branch: 'true' });

    // The event log is ordered and gapless, and passes through the documented states.
    const seqs = done.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const instanceStates = done.events.filter((e) => e.entity === 'INSTANCE').map((e) => e.toStatus);
    expect(instanceStates).toEqual(['PENDING', 'RUNNING', 'WAITING', 'RUNNING', 'COMPLETED']);

    // The delay held the run for at least its duration.
    const waitRun = byStep.wait!;
    const followUp = byStep.followUp!;
    expect(new Date(followUp.startedAt!).getTime() - new Date(waitRun.startedAt!).getTime()).toBeGreaterThanOrEqual(1000);
  });

  test('false branch likes the message instead', async () => {
    const workflowId = await publish('Price requests (false)', priceScenario(1, '/false-branch'));
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: message('hello there') });
    const done = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const byStep = Object.fromEntries(done.stepRuns.map((r) => [r.stepId, r]));
    expect(byStep.like!.status).toBe('SUCCEEDED');
    expect(byStep.sendPrices!.status).toBe('SKIPPED');
    expect(done.messages.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ stepId: 'like', channel: 'instagram', kind: 'like', targetMessageId: 'mid.1' }),
      expect.objectContaining({ stepId: 'followUp', channel: 'whatsapp' }),
    ]);
    expect(JSON.parse(crm.received.find((r) => r.url === '/false-branch')!.body)).toEqual({ who: 'Ana', branch: 'false' });
  });

  test('the same idempotency key returns the same instance', async () => {
    const workflowId = await publish('Idempotent', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'e', type: 'end', name: 'End', after: { stepId: 't', port: 'next' } } },
    ]);
    const a = await client.request(StartWorkflowDocument, { workflowId, input: { n: 1 }, idempotencyKey: 'order-42' });
    const b = await client.request(StartWorkflowDocument, { workflowId, input: { n: 2 }, idempotencyKey: 'order-42' });
    expect(b.startWorkflow.created).toBe(false);
    expect(b.startWorkflow.instance.id).toBe(a.startWorkflow.instance.id);
    const counts = await client.request(InstanceCountsDocument, { workflowId });
    expect(counts.instanceCounts.total).toBe(1);
  });
});

describe('branching, failures and control', () => {
  test('a switch takes the first matching case, or default', async () => {
    const workflowId = await publish('Switch', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      {
        addStep: {
          id: 'route',
          type: 'switch',
          name: 'Route by tier',
          config: {
            cases: [
              { port: 'gold', when: { path: 'trigger.tier', op: 'equals', value: 'gold' } },
              { port: 'silver', when: { path: 'trigger.tier', op: 'in', value: ['silver', 'bronze'] } },
            ],
          },
        },
      },
      { addStep: { id: 'g', type: 'sms.send', name: 'Gold', config: { to: '+1', text: 'gold' } } },
      { addStep: { id: 's', type: 'sms.send', name: 'Silver', config: { to: '+1', text: 'silver' } } },
      { addStep: { id: 'd', type: 'sms.send', name: 'Other', config: { to: '+1', text: 'other' } } },
      { connectSteps: { from: 't', port: 'next', to: 'route' } },
      { connectSteps: { from: 'route', port: 'gold', to: 'g' } },
      { connectSteps: { from: 'route', port: 'silver', to: 's' } },
      { connectSteps: { from: 'route', port: 'default', to: 'd' } },
    ]);
    const ran = async (tier: string) => {
      const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: { tier } });
      const done = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
      expect(done.status).toBe('COMPLETED');
      return done.stepRuns.filter((r) => r.status === 'SUCCEEDED').map((r) => r.stepId);
    };
    expect(await ran('gold')).toEqual(['t', 'route', 'g']);
    expect(await ran('bronze')).toEqual(['t', 'route', 's']);
    expect(await ran('tin')).toEqual(['t', 'route', 'd']);
  });

  test('a failing HTTP call is retried, then fails the instance with step, attempt and reason; retryInstance resumes from it', async () => {
    let healthy = false;
    crm.respond = (req) =>
      req.url === '/flaky' && !healthy ? { status: 503, body: 'down' } : { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } };
    const workflowId = await publish('Flaky CRM', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1555', text: 'hi' }, after: { stepId: 't', port: 'next' } } },
      {
        addStep: {
          id: 'crm',
          type: 'http.request',
          name: 'CRM',
          config: { method: 'POST', url: `${crmUrl}/flaky`, body: 'x', retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100 } },
          after: { stepId: 'sms', port: 'next' },
        },
      },
    ]);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const failed = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatchObject({ stepId: 'crm', attempt: 3 });
    expect(failed.error!.reason).toContain('503');
    expect(crm.received.filter((r) => r.url === '/flaky')).toHaveLength(3);
    expect(failed.events.filter((e) => e.event === 'retry').map((e) => e.attempt)).toEqual([1, 2]);
    const smsOutput = failed.stepRuns.find((r) => r.stepId === 'sms')!.output;

    healthy = true;
    const retried = await client.request(RetryInstanceDocument, { id: failed.id });
    expect(['RUNNING', 'COMPLETED']).toContain(retried.retryInstance.status);
    const done = await until(failed.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const sms = done.stepRuns.find((r) => r.stepId === 'sms')!;
    expect(sms.output).toEqual(smsOutput);
    expect(sms.attempt).toBe(1);
    expect(crm.received.filter((r) => r.url === '/flaky')).toHaveLength(4);
    crm.respond = () => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });
  });

  test('a 4xx other than 408/429 is not retried', async () => {
    crm.respond = (req) => (req.url === '/bad' ? { status: 422, body: 'nope' } : { status: 200, body: '{}' });
    const workflowId = await publish('Bad request', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      {
        addStep: {
          id: 'crm',
          type: 'http.request',
          name: 'CRM',
          config: { method: 'GET', url: `${crmUrl}/bad`, retry: { maxAttempts: 5, initialDelayMs: 50 } },
          after: { stepId: 't', port: 'next' },
        },
      },
    ]);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const failed = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
    expect(failed.error).toMatchObject({ stepId: 'crm', attempt: 1 });
    expect(crm.received.filter((r) => r.url === '/bad')).toHaveLength(1);
    crm.respond = () => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });
  });

  test('cancelInstance during a delay stops the run; the delayed step never runs', async () => {
    const workflowId = await publish('Cancel me', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 1, unit: 'seconds' } }, after: { stepId: 't', port: 'next' } } },
      { addStep: { id: 'after', type: 'sms.send', name: 'After', config: { to: '+1', text: 'late' }, after: { stepId: 'wait', port: 'next' } } },
    ]);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    await until(startWorkflow.instance.id, ['WAITING']);
    const cancelled = await client.request(CancelInstanceDocument, { id: startWorkflow.instance.id });
    expect(cancelled.cancelInstance.status).toBe('CANCELLED');
    // A run started now waits as long and is due later: once it has completed, the cancelled
    // run's delay was due too, and the step after it would have run by now.
    const { startWorkflow: later } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    await until(later.instance.id, ['COMPLETED']);
    const after = await instanceOf(startWorkflow.instance.id);
    expect(after.status).toBe('CANCELLED');
    expect(after.stepRuns.find((r) => r.stepId === 'wait')!.status).toBe('CANCELLED');
    expect(after.stepRuns.find((r) => r.stepId === 'after')).toBeUndefined();
    const again = await client.expectError(RetryInstanceDocument, { id: startWorkflow.instance.id });
    expect(again.extensions?.code).toBe('INVALID_STATE');
  });

  test('an instance stays pinned to the version it started on', async () => {
    const workflowId = await publish('Pinned', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 1, unit: 'seconds' } }, after: { stepId: 't', port: 'next' } } },
      { addStep: { id: 'say', type: 'sms.send', name: 'Say', config: { to: '+1', text: 'version one' }, after: { stepId: 'wait', port: 'next' } } },
    ]);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    await until(startWorkflow.instance.id, ['WAITING']);
    await client.request(UpdateStepDocument, { workflowId, input: { stepId: 'say', config: { to: '+1', text: 'version two' } } });
    await client.request(PublishWorkflowDocument, { workflowId });
    const done = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
    expect(done.version).toBe(1);
    expect(done.stepRuns.find((r) => r.stepId === 'say')!.output).toMatchObject({ text: 'version one' });
    const second = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    expect(second.startWorkflow.instance.version).toBe(2);
  });

  test('a job delivered twice runs the step once', async () => {
    const workflowId = await publish('Twice', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1', text: 'once' }, after: { stepId: 't', port: 'next' } } },
    ]);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const done = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
    const smsRun = done.stepRuns.find((r) => r.stepId === 'sms')!;
    // Deliver the finished job again, twice at once: nothing may run or change.
    await Promise.all([server.app.engine.executor.execute(smsRun.id), server.app.engine.executor.execute(smsRun.id)]);
    const after = await instanceOf(done.id);
    expect(after.events).toHaveLength(done.events.length);
    expect(after.stepRuns.find((r) => r.stepId === 'sms')!.attempt).toBe(1);
  });

  test('starting a workflow that is not published is refused', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Unpublished' } });
    const err = await client.expectError(StartWorkflowDocument, { workflowId: createWorkflow.id, input: {} });
    expect(err.extensions?.code).toBe('INVALID_STATE');
    const other = await server.newWorkspace('other');
    const foreign = await other.client.expectError(StartWorkflowDocument, { workflowId: createWorkflow.id, input: {} });
    expect(foreign.extensions?.code).toBe('NOT_FOUND');
  });
});
