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
import { buildServer, startServerProcess } from '../support/server-process.js';
import { GraphQLClient, schedulerTable, startTestServer, testDatabaseUrl } from '../support/test-server.js';

const dbUrl = testDatabaseUrl();
let dataDir: string | undefined;
const crm = new FakeHttpServer();
let crmUrl: string;

beforeAll(async () => {
  crmUrl = await crm.start();
  buildServer();
});
afterAll(async () => {
  await crm.stop();
});

/** Env that points a server at the suite's database: real Postgres, or one embedded data dir. */
function dbEnv(): Record<string, string> {
  if (dbUrl) return { DATABASE_URL: dbUrl, SCHEDULER_TABLE: schedulerTable };
  dataDir ??= mkdtempSync(join(tmpdir(), 'wfb-durable-'));
  return { DATA_DIR: dataDir, SCHEDULER_TABLE: schedulerTable };
}

async function setUp(name: string, edits: EditInput[]) {
  const server = await startTestServer({ env: { ...dbEnv(), HTTP_ALLOW_PRIVATE_NETWORKS: 'true' }, dataDir });
  const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name } });
  await server.client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await server.client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return { server, workflowId: createWorkflow.id, apiKey: server.apiKey };
}

describe('durability', () => {
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('a restart during a delay resumes the run when the delay is due, not before and not twice', async () => {
    const { server, workflowId, apiKey } = await setUp('Restart during delay', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'wait', type: 'delay', name: 'Wait', config: { duration: { amount: 3, unit: 'seconds' } }, after: { stepId: 't', port: 'next' } } },
      { addStep: { id: 'followUp', type: 'sms.send', name: 'Follow up', config: { to: '+1555', text: 'still there?' }, after: { stepId: 'wait', port: 'next' } } },
    ]);
    const { startWorkflow } = await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    const waiting = await waitFor(
      async () => (await server.client.request(InstanceDocument, { id })).workflowInstance,
      (i) => i.status === 'WAITING',
      { what: 'WAITING' },
    );
    const dueAt = new Date(waiting.events.find((e) => e.event === 'wait' && e.entity === 'STEP')!.detail!.until as string).getTime();
    await server.stop({ keepData: true });

    const again = await startTestServer({ env: dbEnv(), dataDir });
    try {
      const client = new GraphQLClient(again.url, apiKey);
      const done = await waitFor(
        async () => (await client.request(InstanceDocument, { id })).workflowInstance,
        (i) => i.status === 'COMPLETED' || i.status === 'FAILED',
        { what: 'COMPLETED after restart' },
      );
      expect(done.status).toBe('COMPLETED');
      const followUp = done.stepRuns.find((r) => r.stepId === 'followUp')!;
      expect(new Date(followUp.startedAt!).getTime()).toBeGreaterThanOrEqual(dueAt);
      expect(done.messages.edges).toHaveLength(1);
      expect(done.events.filter((e) => e.toStatus === 'COMPLETED')).toHaveLength(1);
      // Began, then resumed once: the resume goes on with the same attempt, it is not a second one.
      const wait = done.stepRuns.find((r) => r.stepId === 'wait')!;
      expect(wait.attempt).toBe(1);
      const claims = done.events.filter((e) => e.stepId === 'wait' && (e.event === 'start' || e.event === 'resume'));
      expect(claims.map((e) => [e.event, e.attempt])).toEqual([
        ['start', 1],
        ['resume', 1],
      ]);
      expect(wait.attempts.map((a) => [a.number, a.status, a.error])).toEqual([[1, 'SUCCEEDED', null]]);
      // One attempt, from its start before the restart to its success after it.
      expect(new Date(wait.attempts[0]!.startedAt).getTime()).toBeLessThan(new Date(followUp.startedAt!).getTime() - 1_000);
      expect(wait.attempts[0]!.finishedAt).not.toBeNull();
    } finally {
      await again.stop({ keepData: true });
    }
  });

  test('a worker killed with SIGKILL in the middle of a step: another process finishes the instance exactly once', { timeout: 90_000 }, async () => {
    let calls = 0;
    crm.respond = () => {
      calls++;
      // The first call hangs long enough for the kill; the one after recovery answers at once.
      return { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' }, delayMs: calls === 1 ? 20_000 : 0 };
    };
    const { server, workflowId, apiKey } = await setUp('Killed mid-step', [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'crm', type: 'http.request', name: 'Slow CRM', config: { method: 'POST', url: `${crmUrl}/slow`, body: 'x' }, after: { stepId: 't', port: 'next' } } },
      { addStep: { id: 'sms', type: 'sms.send', name: 'Confirm', config: { to: '+1555', text: 'done' }, after: { stepId: 'crm', port: 'next' } } },
    ]);
    await server.stop({ keepData: true });

    const env = { ...dbEnv(), HTTP_ALLOW_PRIVATE_NETWORKS: 'true', STEP_LEASE_MS: '2000', SWEEP_INTERVAL_MS: '250', SWEEP_GRACE_MS: '500' };
    const first = await startServerProcess(env);
    const client = new GraphQLClient(first.url, apiKey);
    const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId, input: {} });
    const id = startWorkflow.instance.id;
    await waitFor(async () => crm.received.length, (n) => n >= 1, { what: 'the slow call to start' });
    await first.kill('SIGKILL');

    const second = await startServerProcess(env);
    try {
      const client2 = new GraphQLClient(second.url, apiKey);
      const done = await waitFor(
        async () => (await client2.request(InstanceDocument, { id })).workflowInstance,
        (i) => i.status === 'COMPLETED' || i.status === 'FAILED',
        { what: 'COMPLETED after SIGKILL', timeoutMs: 45_000 },
      );
      // On failure, say how it ended: the instance's error, each step run and the event log.
      const story = JSON.stringify({ error: done.error, stepRuns: done.stepRuns, events: done.events.map((e) => `${e.stepId ?? ''}:${e.event}:${e.toStatus}:${JSON.stringify(e.detail)}`) });
      expect(done.status, story).toBe('COMPLETED');
      expect(done.events.filter((e) => e.entity === 'INSTANCE' && e.toStatus === 'COMPLETED')).toHaveLength(1);
      expect(done.events.map((e) => `${e.stepId ?? ''}:${e.event}:${e.toStatus}:${JSON.stringify(e.detail)}`).join(' ')).toContain('crm:lose:RETRYING');
      expect(done.stepRuns.filter((r) => r.stepId === 'sms')).toHaveLength(1);
      expect(done.messages.edges).toHaveLength(1);
      const seqs = done.events.map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    } finally {
      if (process.env.DEBUG_LOGS) console.log(second.logs.join('\n'));
      await second.kill('SIGTERM');
      crm.respond = () => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });
    }
  });
});
