import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstanceCountsDocument,
  PublishWorkflowDocument,
  SendEventDocument,
  StartWorkflowDocument,
} from '../../src/sdk/operations.generated.js';
import { twilioParams } from '../fixtures/inbound/inbound-fixtures.js';
import { waitFor } from '../support/fake-http-server.js';
import { GraphQLClient, startTestServer, testDatabaseUrl, type TestServer } from '../support/test-server.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

/**
 * Waits live in Postgres, not in a process: instances waiting for replies and for events across a
 * restart of the server are each resumed by their own reply or event, once, by the new process.
 */
const TWILIO_AUTH_TOKEN = 'twilio-auth-token-for-restart-tests';
/** On the embedded database everything runs in one session; fewer keep the file's time reasonable. */
const REPLIES = testDatabaseUrl() ? 1_000 : 200;
const EVENTS = 100;

let database: Awaited<ReturnType<typeof isolatedDatabase>>;
const dataDir = testDatabaseUrl() ? undefined : mkdtempSync(join(tmpdir(), 'wfb-wait-restart-'));
const running: TestServer[] = [];

const start = async () => {
  const server = await startTestServer({
    env: { ...database.env, TWILIO_AUTH_TOKEN, TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000' },
    ...(dataDir ? { dataDir } : {}),
  });
  running.push(server);
  return server;
};

beforeAll(async () => {
  database = await isolatedDatabase();
});
afterAll(async () => {
  for (const server of running) await server.stop();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `work` over `items`, `width` at a time. */
async function pool<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

function twilioSignature(url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  const data = names.reduce((acc, name) => acc + params.getAll(name).sort().map((v) => name + v).join(''), url);
  return createHmac('sha1', TWILIO_AUTH_TOKEN).update(data, 'utf8').digest('base64');
}

async function sms(server: TestServer, from: string, body: string): Promise<string[]> {
  const params = twilioParams('twilio-sms', { sid: `SM${randomBytes(16).toString('hex')}`, body });
  params.set('From', from);
  const url = `http://localhost:${server.app.port}/inbound/twilio`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(url, params) },
    body: params.toString(),
  });
  expect(res.status).toBe(200);
  return (res.headers.get('x-wfb-resumed-instances') ?? '').split(',').filter(Boolean);
}

async function publish(client: GraphQLClient, name: string, wait: { type: string; config: Record<string, unknown> }): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  await client.request(ApplyEditsDocument, {
    workflowId: createWorkflow.id,
    edits: [
      { addStep: { id: 'start', type: 'trigger.incomingMessage', name: 'Texted', config: { channel: 'sms', keyword: 'never-matched-keyword' } } },
      { addStep: { id: 'wait', type: wait.type, name: 'Wait', config: wait.config, after: { stepId: 'start', port: 'next' } } },
      { addStep: { id: 'done', type: 'end', name: 'Done', after: { stepId: 'wait', port: 'received' } } },
      { addStep: { id: 'late', type: 'end', name: 'Late' } },
      { connectSteps: { from: 'wait', port: 'timedOut', to: 'late' } },
    ],
  });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const OUTPUTS = `query($id: ID!) { workflowInstance(id: $id) { status stepRuns { stepId status output } } }`;
interface Outputs {
  workflowInstance: { status: string; stepRuns: { stepId: string; status: string; output: Record<string, unknown> | null }[] };
}

test(`${REPLIES} instances waiting for replies and ${EVENTS} for events survive a restart; each is resumed by its own, once`, async () => {
  const first = await start();
  const { apiKey } = first;
  const replies = await publish(first.client, 'Wait for the reply', { type: 'wait.forMessage', config: { channel: 'sms', timeout: { amount: 1, unit: 'days' } } });
  const events = await publish(first.client, 'Wait for the event', {
    type: 'wait.forEvent',
    config: { event: 'restart.check', key: 'k-{{ trigger.message.from }}', timeout: { amount: 1, unit: 'days' } },
  });
  const run = randomBytes(3).toString('hex');
  const senders = Array.from({ length: REPLIES }, (_, i) => `+1777${String(i).padStart(7, '0')}`);
  const eventKeys = Array.from({ length: EVENTS }, (_, i) => `${run}-${i}`);
  const message = (from: string) => ({ message: { id: `SM-${from}`, from, to: '+15005550006', text: 'hi', channel: 'sms', receivedAt: new Date().toISOString() } });
  const replyIds = await pool(senders, 16, async (from) =>
    (await first.client.request(StartWorkflowDocument, { workflowId: replies, input: message(from) })).startWorkflow.instance.id,
  );
  const eventIds = await pool(eventKeys, 16, async (key) =>
    (await first.client.request(StartWorkflowDocument, { workflowId: events, input: message(key) })).startWorkflow.instance.id,
  );
  const waiting = async (client: GraphQLClient, workflowId: string) => (await client.request(InstanceCountsDocument, { workflowId })).instanceCounts;
  await waitFor(() => waiting(first.client, replies), (c) => c.waiting === REPLIES, { what: 'every reply wait to begin', timeoutMs: 180_000, intervalMs: 500 });
  await waitFor(() => waiting(first.client, events), (c) => c.waiting === EVENTS, { what: 'every event wait to begin', timeoutMs: 60_000, intervalMs: 500 });

  await first.stop({ keepData: true });
  running.splice(running.indexOf(first), 1);
  const second = await start();
  const client = new GraphQLClient(second.url, apiKey);
  expect(await waiting(client, replies)).toMatchObject({ waiting: REPLIES });

  // Each reply names the one instance it resumed: the one its sender started.
  const resumed = await pool(senders, 8, async (from, i) => ({ i, resumed: await sms(second, from, `reply ${i}`) }));
  for (const { i, resumed: ids } of resumed) expect(ids, `reply ${i}`).toEqual([replyIds[i]]);
  const sent = await pool(eventKeys, 8, async (key, i) => ({
    i,
    sent: (await client.request(SendEventDocument, { name: 'restart.check', key: `k-${key}`, payload: { n: i } })).sendEvent,
  }));
  for (const { i, sent: s } of sent) expect(s.resumedInstanceIds, `event ${i}`).toEqual([eventIds[i]]);

  await waitFor(() => waiting(client, replies), (c) => c.completed === REPLIES, { what: 'every reply run to complete', timeoutMs: 180_000, intervalMs: 500 });
  await waitFor(() => waiting(client, events), (c) => c.completed === EVENTS, { what: 'every event run to complete', timeoutMs: 60_000, intervalMs: 500 });
  // Resumed once, with its own reply; a second reply resumes nothing.
  for (const i of [0, Math.floor(REPLIES / 2), REPLIES - 1]) {
    const { workflowInstance } = await client.request<Outputs, { id: string }>(OUTPUTS, { id: replyIds[i]! });
    expect(workflowInstance.stepRuns.find((r) => r.stepId === 'wait')?.output).toMatchObject({ from: senders[i], text: `reply ${i}` });
    expect(workflowInstance.stepRuns.find((r) => r.stepId === 'late')?.status).toBe('SKIPPED');
  }
  expect(await sms(second, senders[0]!, 'again')).toEqual([]);
}, 600_000);
