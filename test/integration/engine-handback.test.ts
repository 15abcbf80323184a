import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  StartWorkflowDocument,
  type EditInput,
} from '../../src/sdk/operations.generated.js';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { GraphQLClient, schedulerTable, startTestServer, testDatabaseUrl, type TestServer } from '../support/test-server.js';

/**
 * Graceful drain and the idempotency key of outbound HTTP: a stopping worker gives running steps
 * its grace, then hands the rest back at once; a step sent again carries the key of its first send.
 */
const receiver = new FakeHttpServer();
let receiverUrl: string;
const dbUrl = testDatabaseUrl();
let dataDir: string | undefined;

beforeAll(async () => {
  receiverUrl = await receiver.start();
  dataDir = dbUrl ? undefined : mkdtempSync(join(tmpdir(), 'wfb-handback-'));
});
afterAll(async () => {
  await receiver.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A server on the suite's database: the same embedded data dir for every server of this file. */
const serverOn = (env: Record<string, string> = {}) =>
  startTestServer({ env: { HTTP_ALLOW_PRIVATE_NETWORKS: 'true', SCHEDULER_TABLE: schedulerTable, ...(dataDir ? { DATA_DIR: dataDir } : {}), ...env }, dataDir });

async function publish(server: TestServer, name: string, edits: EditInput[]): Promise<string> {
  const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name } });
  await server.client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await server.client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const callStep = (path: string, extra: Record<string, unknown> = {}): EditInput[] => [
  { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
  {
    addStep: {
      id: 'call',
      type: 'http.request',
      name: 'Call',
      config: { method: 'POST', url: `${receiverUrl}${path}`, body: '{{ instance.id }}', ...extra },
      after: { stepId: 't', port: 'next' },
    },
  },
];

const ok = () => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });

describe('idempotency key of outbound HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serverOn();
  });
  afterAll(async () => {
    await server?.stop({ keepData: true });
  });

  test('every send of a step carries Idempotency-Key <instance>:<step>, the same on a retry', async () => {
    let calls = 0;
    receiver.respond = (r) => (r.url === '/retried' && ++calls === 1 ? { status: 503, body: 'busy' } : ok());
    const workflowId = await publish(server, 'key', callStep('/retried', { retry: { initialDelayMs: 10, jitter: 0 } }));
    const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    await waitFor(async () => (await server.client.request(InstanceDocument, { id })).workflowInstance, (i) => i.status === 'COMPLETED', { what: 'COMPLETED' });
    const sends = receiver.received.filter((r) => r.url === '/retried' && r.body === id);
    expect(sends).toHaveLength(2);
    expect(sends.map((r) => r.headers['idempotency-key'])).toEqual([`${id}:call`, `${id}:call`]);
  });

  test("a step that sets the header itself keeps its own value", async () => {
    receiver.respond = ok;
    const workflowId = await publish(server, 'own key', callStep('/own', { headers: { 'Idempotency-Key': 'mine-{{ instance.id }}' } }));
    const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    await waitFor(async () => receiver.received.filter((r) => r.url === '/own' && r.body === id), (l) => l.length === 1, { what: 'the call' });
    expect(receiver.received.find((r) => r.url === '/own' && r.body === id)!.headers['idempotency-key']).toBe(`mine-${id}`);
  });
});

describe('HTTP_IDEMPOTENCY_HEADER', () => {
  test('names the header, and none sends no key', async () => {
    receiver.respond = ok;
    for (const [setting, header] of [['X-Request-Key', 'x-request-key'], ['none', undefined]] as const) {
      const server = await serverOn({ HTTP_IDEMPOTENCY_HEADER: setting });
      try {
        const workflowId = await publish(server, `header ${setting}`, callStep(`/header-${setting}`));
        const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
        const id = startWorkflow.instance.id;
        const [sent] = await waitFor(async () => receiver.received.filter((r) => r.url === `/header-${setting}`), (l) => l.length === 1, { what: 'the call' });
        expect(sent!.headers['idempotency-key']).toBeUndefined();
        if (header) expect(sent!.headers[header]).toBe(`${id}:call`);
      } finally {
        await server.stop({ keepData: true });
      }
    }
  });
});

describe('graceful drain', () => {
  test('a stopping worker hands back a step that outlasts the grace; another worker runs it again at once, with the same key', { timeout: 60_000 }, async () => {
    let first = true;
    receiver.respond = (r) => {
      if (r.url !== '/slow') return ok();
      // The first send hangs past the grace; the one after the hand-back answers at once.
      const delayMs = first ? 20_000 : 0;
      first = false;
      return { ...ok(), delayMs };
    };
    const a = await serverOn({ SHUTDOWN_GRACE_MS: '300', STEP_LEASE_MS: '60000' });
    const apiKey = a.apiKey;
    const workflowId = await publish(a, 'drain', callStep('/slow'));
    const { startWorkflow } = await a.client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    await waitFor(async () => receiver.received.filter((r) => r.url === '/slow' && r.body === id), (l) => l.length === 1, { what: 'the slow call' });

    await a.stop({ keepData: true });

    const b = await serverOn();
    try {
      const client = new GraphQLClient(b.url, apiKey);
      const done = await waitFor(async () => (await client.request(InstanceDocument, { id })).workflowInstance, (i) => ['COMPLETED', 'FAILED'].includes(i.status), { what: 'COMPLETED on b' });
      expect(done.status).toBe('COMPLETED');
      const call = done.events.filter((e) => e.stepId === 'call').map((e) => `${e.event}:${e.toStatus}`);
      expect(call).toEqual(['schedule:SCHEDULED', 'start:RUNNING', 'release:RETRYING', 'start:RUNNING', 'succeed:SUCCEEDED']);
      const release = done.events.find((e) => e.event === 'release')!;
      expect(release.detail).toMatchObject({ worker: a.app.workerName });
      // A hand-back neither counts as a lost worker nor uses up a retry.
      expect(done.events.filter((e) => e.event === 'lose')).toEqual([]);
      const sends = receiver.received.filter((r) => r.url === '/slow' && r.body === id);
      expect(sends.map((r) => r.headers['idempotency-key'])).toEqual([`${id}:call`, `${id}:call`]);
    } finally {
      await b.stop({ keepData: true });
    }
  });
});
