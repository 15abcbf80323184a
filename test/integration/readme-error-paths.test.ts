import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The GraphQL blocks of the README's "Error paths and failure handlers" section, run in order as
 * written; only the two remote systems' origins are replaced by a local server that answers 500
 * (this machine reaches no internet).
 */
let server: TestServer;
const down = new FakeHttpServer();
let downUrl: string;

beforeAll(async () => {
  downUrl = await down.start();
  down.respond = () => ({ status: 500, body: 'down' });
  server = await startTestServer({ env: { HTTP_ALLOW_PRIVATE_NETWORKS: 'true' } });
});
afterAll(async () => {
  await server?.stop();
  await down.stop();
});

interface Outcome {
  workflowInstance: {
    status: string;
    error: { stepId: string; reason: string } | null;
    stepRuns: { stepId: string; status: string; output: Record<string, unknown> | null; error: { message: string; handled: boolean } | null }[];
    messages: { edges: { node: { text: string } }[] };
  };
  workflowInstances: { edges: { node: { idempotencySource: string; input: Record<string, unknown>; status: string } }[] };
}

test("the README's error-path example runs as written: the error edge catches the CRM's 500, the failure starts the handler once", async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/<!-- error-paths-example -->\s*```graphql\n([\s\S]*?)```/g)].map((m) =>
    m[1]!.replaceAll('https://crm.example.com', downUrl).replaceAll('https://tickets.example.com', downUrl),
  );
  expect(blocks).toHaveLength(6);
  const [createHandler, buildHandler, createFlow, buildFlow, start, outcome] = blocks as [string, string, string, string, string, string];
  const { client } = server;

  const handler = (await client.request<{ createWorkflow: { id: string } }, Record<string, never>>(createHandler)).createWorkflow.id;
  await client.request(buildHandler, { handler });
  const id = (await client.request<{ createWorkflow: { id: string } }, Record<string, never>>(createFlow)).createWorkflow.id;
  const built = await client.request<{ publishWorkflow: { version: { failureHandlerWorkflowId: string } } }, { id: string; handler: string }>(buildFlow, {
    id,
    handler,
  });
  expect(built.publishWorkflow.version.failureHandlerWorkflowId).toBe(handler);
  const instance = (await client.request<{ startWorkflow: { instance: { id: string } } }, { id: string }>(start, { id })).startWorkflow.instance.id;

  const seen = await waitFor(
    () => client.request<Outcome, { instance: string; handler: string }>(outcome, { instance, handler }),
    (o) => o.workflowInstance.status === 'FAILED' && o.workflowInstances.edges.some((e) => e.node.status === 'COMPLETED'),
    { what: 'the flow to fail and its handler to finish' },
  );
  const runs = new Map(seen.workflowInstance.stepRuns.map((r) => [r.stepId, r]));
  expect(runs.get('crm')).toMatchObject({ status: 'FAILED', error: { handled: true }, output: { code: 'HTTP_500', status: 500, attempt: 2 } });
  expect(runs.get('thanks')?.status).toBe('SKIPPED');
  expect(runs.get('ticket')).toMatchObject({ status: 'FAILED', error: { handled: false } });
  expect(seen.workflowInstance.error).toMatchObject({ stepId: 'ticket' });
  expect(seen.workflowInstance.messages.edges.map((e) => e.node.text)).toEqual(['Sorry, we had a problem (HTTP_500); we will call you.']);
  expect(down.received.find((r) => r.url === '/new')?.body).toBe(`CRM said 500: HTTP 500 from ${new URL(downUrl).host}`);
  expect(seen.workflowInstances.edges).toEqual([
    {
      node: expect.objectContaining({
        idempotencySource: 'FAILURE_HANDLER',
        status: 'COMPLETED',
        input: expect.objectContaining({ instanceId: instance, workflowId: id, stepId: 'ticket' }),
      }),
    },
  ]);
});
