import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The GraphQL blocks of the README's "Waiting for an event" section, run in order as written. */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

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
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/<!-- wait-for-event-example -->\s*```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
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
