import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { metaInstagramBody } from '../fixtures/inbound/inbound-fixtures.js';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

/** The GraphQL blocks of the README's "Waiting for an event" and "Waiting for a reply" sections, run in order as written. */
let server: TestServer;
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
const META_APP_SECRET = 'readme-waits-app-secret';

beforeAll(async () => {
  // The reply example's messages reach every workspace of the database: one of this file's own.
  database = await isolatedDatabase();
  server = await startTestServer({ env: { ...database.env, META_APP_SECRET } });
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

const readmeBlocks = async (mark: string): Promise<string[]> => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  return [...readme.matchAll(new RegExp(`<!-- ${mark} -->\\s*\`\`\`graphql\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
};

/** A signed Meta delivery of one Instagram message, processed. */
async function instagram(text: string): Promise<void> {
  const body = metaInstagramBody({ mid: `mid.${randomBytes(8).toString('hex')}`, text });
  const res = await fetch(`${new URL(server.url).origin}/inbound/meta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', META_APP_SECRET).update(body).digest('hex')}` },
    body,
  });
  expect(res.status).toBe(200);
  const { deliveryId } = (await res.json()) as { deliveryId: string };
  await waitFor(
    async () => (await server.app.database.sql<{ done: boolean }[]>`select processed_at is not null as done from inbound_deliveries where id = ${deliveryId}`)[0]?.done,
    (done) => done === true,
    { what: `delivery ${deliveryId} to be processed` },
  );
}

interface Waiting {
  workflowInstance: { status: string; waitReason: string | null; currentStepId: string; stepRuns: { stepId: string; status: string; waitReason: string | null; dueAt: string }[] };
}
interface Paid {
  workflowInstance: {
    status: string;
    waitReason: string | null;
    stepRuns: { stepId: string; status: string; output: unknown }[];
    messages: { edges: { node: { text: string } }[] };
  };
}

test("the README's wait-for-an-event example runs as written: the instance waits for the payment, the event resumes it on received", async () => {
  const blocks = await readmeBlocks('wait-for-event-example');
  expect(blocks).toHaveLength(6);
  const [create, build, start, waiting, paid, outcome] = blocks as [string, string, string, string, string, string];
  const { client } = server;

  const id = (await client.request<{ createWorkflow: { id: string } }, Record<string, never>>(create)).createWorkflow.id;
  await client.request(build, { id });
  const instance = (await client.request<{ startWorkflow: { instance: { id: string } } }, { id: string }>(start, { id })).startWorkflow.instance.id;

  const parked = await waitFor(
    () => client.request<Waiting, { instance: string }>(waiting, { instance }),
    (w) => w.workflowInstance.status === 'WAITING',
    { what: 'the instance to wait for the payment' },
  );
  expect(parked.workflowInstance).toMatchObject({ waitReason: 'EVENT', currentStepId: 'paid' });
  const wait = parked.workflowInstance.stepRuns.find((r) => r.stepId === 'paid')!;
  expect(wait).toMatchObject({ status: 'SCHEDULED', waitReason: 'EVENT' });
  expect(new Date(wait.dueAt).getTime() - Date.now()).toBeGreaterThan(23 * 3_600_000);

  const sent = await client.request<{ sendEvent: { resumedInstanceIds: string[]; keptUntil: string | null } }, Record<string, never>>(paid);
  expect(sent.sendEvent).toEqual({ resumedInstanceIds: [instance], keptUntil: null });

  const seen = await waitFor(
    () => client.request<Paid, { instance: string }>(outcome, { instance }),
    (o) => o.workflowInstance.status === 'COMPLETED',
    { what: 'the instance to complete' },
  );
  expect(seen.workflowInstance.waitReason).toBeNull();
  const runs = new Map(seen.workflowInstance.stepRuns.map((r) => [r.stepId, r]));
  expect(runs.get('paid')).toMatchObject({ status: 'SUCCEEDED', output: { amount: 180 } });
  expect(runs.get('remind')?.status).toBe('SKIPPED');
  expect(seen.workflowInstance.messages.edges.map((e) => e.node.text)).toEqual([
    'Pay order A-17: https://pay.example.com/A-17',
    'Thanks, we got 180 EUR.',
  ]);
});

interface Conversations {
  workflowInstances: { edges: { node: { id: string; status: string; waitReason: string | null; currentStepId: string | null } }[] };
}
interface Conversation {
  workflowInstance: {
    status: string;
    stepRuns: { stepId: string; status: string; output: Record<string, unknown> | null }[];
    messages: { edges: { node: { recipient: string; text: string } }[] };
  };
}

test("the README's wait-for-a-reply example runs as written: the price question waits, a 'no' does not end it, the 'yes' does", async () => {
  const blocks = await readmeBlocks('wait-for-message-example');
  expect(blocks).toHaveLength(4);
  const [create, build, conversations, conversation] = blocks as [string, string, string, string];
  const { client } = server;
  const id = (await client.request<{ createWorkflow: { id: string } }, Record<string, never>>(create)).createWorkflow.id;
  await client.request(build, { id });

  await instagram("Hi! What's the price of the blue one?");
  const waiting = await waitFor(
    () => client.request<Conversations, { id: string }>(conversations, { id }),
    (c) => c.workflowInstances.edges[0]?.node.status === 'WAITING',
    { what: 'the conversation to wait for the answer' },
  );
  const instance = waiting.workflowInstances.edges[0]!.node;
  expect(instance).toMatchObject({ waitReason: 'MESSAGE', currentStepId: 'answer' });

  await instagram('no, too expensive');
  expect((await client.request<Conversation, { instance: string }>(conversation, { instance: instance.id })).workflowInstance.status).toBe('WAITING');
  await instagram('Yes please, at that price!');
  const done = await waitFor(
    () => client.request<Conversation, { instance: string }>(conversation, { instance: instance.id }),
    (c) => c.workflowInstance.status === 'COMPLETED',
    { what: 'the conversation to complete' },
  );
  const runs = new Map(done.workflowInstance.stepRuns.map((r) => [r.stepId, r]));
  expect(runs.get('answer')).toMatchObject({ status: 'SUCCEEDED', output: { text: 'Yes please, at that price!', channel: 'instagram' } });
  expect(runs.get('nudge')?.status).toBe('SKIPPED');
  expect(done.workflowInstance.messages.edges.map((e) => e.node.text)).toEqual(['It is 20 EUR. Shall I reserve one for you?', 'Reserved! (Yes please, at that price!)']);
  // The answer says "price" but ended a wait: it started no second conversation.
  expect((await client.request<Conversations, { id: string }>(conversations, { id })).workflowInstances.edges).toHaveLength(1);
});
