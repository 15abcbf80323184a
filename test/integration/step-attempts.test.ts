import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstanceUpdatedDocument,
  PublishWorkflowDocument,
  RetryInstanceDocument,
  StartWorkflowDocument,
  type EditInput,
  type InstanceQuery,
} from '../../src/sdk/operations.generated.js';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import { collect, wsClient } from '../support/ws-client.js';

type Instance = InstanceQuery['workflowInstance'];

let server: TestServer;
let client: GraphQLClient;
const remote = new FakeHttpServer();
let remoteUrl: string;

beforeAll(async () => {
  remoteUrl = await remote.start();
  server = await startTestServer({ env: { HTTP_ALLOW_PRIVATE_NETWORKS: 'true' } });
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
  await remote.stop();
});

/** A published workflow: a manual trigger, then one HTTP call to `path` with this retry policy. */
async function callingWorkflow(path: string, maxAttempts: number): Promise<string> {
  const edits: EditInput[] = [
    { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
    {
      addStep: {
        id: 'call',
        type: 'http.request',
        name: 'Call',
        config: { method: 'POST', url: `${remoteUrl}${path}`, body: 'x', retry: { maxAttempts, initialDelayMs: 50, maxDelayMs: 100 } },
        after: { stepId: 't', port: 'next' },
      },
    },
  ];
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: `Attempts ${path}` } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

/** Answers `path` with the given statuses in turn, then 200. */
function answers(path: string, statuses: number[]): void {
  const queue = [...statuses];
  const before = remote.respond;
  remote.respond = (req) => {
    if (req.url !== path) return before(req);
    const status = queue.shift() ?? 200;
    return status === 200
      ? { status, body: '{"ok":true}', headers: { 'content-type': 'application/json' } }
      : { status, body: 'unavailable' };
  };
}

const instanceOf = async (id: string): Promise<Instance> => (await client.request(InstanceDocument, { id })).workflowInstance;
const until = (id: string, statuses: string[]) =>
  waitFor(() => instanceOf(id), (i) => statuses.includes(i.status), { what: `instance ${id} to reach ${statuses.join('/')}` });
const callOf = (i: Instance) => i.stepRuns.find((r) => r.stepId === 'call')!;
const summary = (i: Instance) =>
  callOf(i).attempts.map((a) => [a.number, a.status, a.error?.code ?? null, a.error?.httpStatus ?? null, a.retryAt !== null]);

describe('step attempts', () => {
  test('an HTTP step failing twice then succeeding lists three attempts, with the errors of the first two', async () => {
    answers('/twice', [503, 503]);
    const workflowId = await callingWorkflow('/twice', 3);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const done = await until(startWorkflow.instance.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const call = callOf(done);
    expect(call.attempt).toBe(3);
    expect(summary(done)).toEqual([
      [1, 'FAILED', 'HTTP_503', 503, true],
      [2, 'FAILED', 'HTTP_503', 503, true],
      [3, 'SUCCEEDED', null, null, false],
    ]);
    for (const a of call.attempts.slice(0, 2)) expect(a.error!.message).toContain('503');
    // In order, each over before the next began.
    const times = call.attempts.flatMap((a) => [a.startedAt, a.finishedAt!]).map((t) => new Date(t).getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // The log agrees: three starts, numbered as the attempts are.
    expect(done.events.filter((e) => e.stepId === 'call' && e.event === 'start').map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  test('after retryInstance the earlier attempts are still listed and numbering goes on; the retry policy counts afresh', async () => {
    // Two attempts (the policy's maximum) fail the instance; after retryInstance one more fails and the next succeeds.
    answers('/down', [503, 503, 503]);
    const workflowId = await callingWorkflow('/down', 2);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    const failed = await until(id, ['COMPLETED', 'FAILED']);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatchObject({ stepId: 'call', attempt: 2 });
    expect(summary(failed)).toEqual([
      [1, 'FAILED', 'HTTP_503', 503, true],
      [2, 'FAILED', 'HTTP_503', 503, false],
    ]);

    const ws = wsClient(server.url, server.apiKey);
    try {
      // The instance has ended: a replay of its log completes after the failure.
      const replay = collect(ws, InstanceUpdatedDocument, { instanceId: id, since: 0 });
      expect(await replay.ended).toBe('complete');
      expect(replay.items.at(-1)!.instanceUpdated.event).toMatchObject({ entity: 'INSTANCE', toStatus: 'FAILED' });

      await client.request(RetryInstanceDocument, { id });
      // Subscribed from the failure on: the retried stretch of the log, then complete.
      const after = collect(ws, InstanceUpdatedDocument, { instanceId: id, since: failed.eventSeq });
      expect(await after.ended).toBe('complete');
      expect(after.items.at(-1)!.instanceUpdated.event).toMatchObject({ entity: 'INSTANCE', toStatus: 'COMPLETED' });
    } finally {
      await ws.dispose();
    }

    const done = await instanceOf(id);
    expect(done.status).toBe('COMPLETED');
    expect(callOf(done).attempt).toBe(4);
    expect(summary(done)).toEqual([
      [1, 'FAILED', 'HTTP_503', 503, true],
      [2, 'FAILED', 'HTTP_503', 503, false],
      [3, 'FAILED', 'HTTP_503', 503, true],
      [4, 'SUCCEEDED', null, null, false],
    ]);
    expect(done.events.filter((e) => e.stepId === 'call' && e.event === 'start').map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
    expect(remote.received.filter((r) => r.url === '/down')).toHaveLength(4);
  });
});
