import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inboundIdempotency } from '../../src/http/inbound-dispatcher.js';
import { openDatabase } from '../../src/persistence/database.js';
import { startEmbeddedPostgres } from '../../src/persistence/embedded-postgres.js';
import { RunCommandRepository } from '../../src/persistence/run-command.repository.js';
import { CreateWebhookDocument, StartWorkflowDocument } from '../../src/sdk/operations.generated.js';
import { twilioParams } from '../fixtures/inbound/inbound-fixtures.js';
import { isolatedDatabase } from '../integration/webhooks/isolated-database.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import {
  instanceTotal,
  messageWorkflow,
  postTwilio,
  providerEnv,
  publishedWorkflow,
  twilioSignature,
  twilioUrl,
} from './support/inbound-clients.js';

/**
 * Idempotency keys are namespaced by who gives them: a GraphQL caller, a webhook caller
 * (`Idempotency-Key`) and an inbound provider (its message id) can never claim each other's key,
 * whatever string they choose.
 */
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let server: TestServer;
let client: GraphQLClient;
let origin: string;

beforeAll(async () => {
  // Inbound messages start matching workflows of every workspace: a database of this file's own.
  database = await isolatedDatabase();
  server = await startTestServer({ env: { ...database.env, ...providerEnv } });
  client = server.client;
  origin = new URL(server.url).origin;
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

const key = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

async function webhookWorkflow(name: string) {
  const workflowId = await publishedWorkflow(client, name, { type: 'trigger.webhook' });
  const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId, signingSecret: false });
  const call = async (idempotencyKey: string) => {
    const res = await fetch(`${origin}/hooks/${createWebhook.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: '{"order":42}',
    });
    expect(res.status).toBe(202);
    return (await res.json()) as { instanceId: string; created: boolean };
  };
  return { workflowId, call };
}

const startWithKey = (workflowId: string, idempotencyKey: string) =>
  client.request(StartWorkflowDocument, { workflowId, input: {}, idempotencyKey }).then((r) => r.startWorkflow);

describe('idempotency namespaces', () => {
  test('a GraphQL key spelled like a webhook key neither finds nor pre-claims the webhook call', async () => {
    const { workflowId, call } = await webhookWorkflow('Namespaced webhook');

    // Claimed by the webhook first: GraphQL's "webhook:<K>" is a key of its own.
    const k = key('order-');
    const byWebhook = await call(k);
    expect(byWebhook.created).toBe(true);
    const byGraphql = await startWithKey(workflowId, `webhook:${k}`);
    expect(byGraphql.created).toBe(true);
    expect(byGraphql.instance.id).not.toBe(byWebhook.instanceId);

    // Pre-claimed by GraphQL first: the webhook call still starts its own instance.
    const k2 = key('order-');
    const preclaim = await startWithKey(workflowId, `webhook:${k2}`);
    const webhookAfter = await call(k2);
    expect(webhookAfter.created).toBe(true);
    expect(webhookAfter.instanceId).not.toBe(preclaim.instance.id);

    // Each source still dedupes its own keys.
    expect(await call(k2)).toEqual({ instanceId: webhookAfter.instanceId, created: false });
    const again = await startWithKey(workflowId, `webhook:${k2}`);
    expect(again).toMatchObject({ created: false, instance: { id: preclaim.instance.id } });
    expect(await instanceTotal(client, workflowId)).toBe(4);
  });

  test('the GraphQL answer echoes the caller own key, and the same bare key is free in every source', async () => {
    const { workflowId, call } = await webhookWorkflow('Echoed key');
    const k = key('same-');
    const echoed = await client.request<{ startWorkflow: { created: boolean; instance: { id: string; idempotencyKey: string } } }, Record<string, unknown>>(
      `mutation($id: ID!, $key: String) { startWorkflow(workflowId: $id, idempotencyKey: $key) { created instance { id idempotencyKey } } }`,
      { id: workflowId, key: k },
    );
    expect(echoed.startWorkflow).toMatchObject({ created: true, instance: { idempotencyKey: k } });
    expect((await call(k)).created).toBe(true);
  });

  test('a GraphQL key spelled like an inbound message key does not swallow the message', async () => {
    const workflowId = await messageWorkflow(client, 'Namespaced SMS', { channel: 'sms' });
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const preclaim = await startWithKey(workflowId, `inbound:twilio:${sid}`);
    expect(preclaim.created).toBe(true);

    const params = twilioParams('twilio-sms', { sid });
    const res = await postTwilio(origin, params.toString(), twilioSignature(twilioUrl(server.app.port), params));
    expect(res.status).toBe(200);
    // The message started the workflow itself instead of finding the GraphQL instance.
    expect(await instanceTotal(client, workflowId)).toBe(2);
  });
});

describe('keys stored before sources were apart', () => {
  test('are migrated to their source and bare key, and still find their instances', async () => {
    const migrations = fileURLToPath(new URL('../../drizzle', import.meta.url));
    const journal = JSON.parse(readFileSync(join(migrations, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag.endsWith('_idempotency_sources'));
    expect(at).toBeGreaterThan(0);
    // The migrations up to the one under test, in a folder of their own.
    const before = mkdtempSync(join(tmpdir(), 'wfb-migrations-'));
    cpSync(migrations, before, { recursive: true });
    writeFileSync(join(before, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));

    const fresh = await freshDatabase();
    const sql = postgres(fresh.url, { max: 1, prepare: false, onnotice: () => {} });
    try {
      await migrate(drizzle(sql), { migrationsFolder: before });
      const [workspaceId, workflowId] = [randomUUID(), randomUUID()];
      await sql`insert into workspaces (id, name) values (${workspaceId}, 'old keys')`;
      await sql`insert into workflows (id, workspace_id, name) values (${workflowId}, ${workspaceId}, 'old keys')`;
      const old = ['order-7', 'webhook:order-7', 'inbound:meta:mid.1', 'inbound:twilio:SM1', 'inbound:meta:sha256:ab12'];
      for (const key of old) {
        await sql`insert into workflow_instances (id, workspace_id, workflow_id, version, status, input, idempotency_key)
                  values (${randomUUID()}, ${workspaceId}, ${workflowId}, 1, 'COMPLETED', '{}'::jsonb, ${key})`;
      }
      await sql`insert into workflow_instances (id, workspace_id, workflow_id, version, status, input)
                values (${randomUUID()}, ${workspaceId}, ${workflowId}, 1, 'COMPLETED', '{}'::jsonb)`;
      await sql.end({ timeout: 5 });

      const database = await openDatabase({ url: fresh.url, dataDir: '', poolSize: 1 });
      try {
        const rows = await database.sql<{ source: string | null; key: string | null }[]>`
          select idempotency_source as source, idempotency_key as key from workflow_instances
          where workflow_id = ${workflowId} order by source nulls first, key`;
        expect(rows).toEqual([
          { source: null, key: null },
          { source: 'graphql', key: 'order-7' },
          { source: 'meta', key: 'mid.1' },
          { source: 'meta', key: 'sha256:ab12' },
          { source: 'twilio', key: 'SM1' },
          { source: 'webhook', key: 'order-7' },
        ]);
        // What a redelivery of the same message computes finds the migrated instance.
        expect(inboundIdempotency({ provider: 'meta', providerMessageId: 'mid.1' })).toEqual({ source: 'meta', key: 'mid.1' });
        const runs = new RunCommandRepository(database.db, database.sql);
        const again = await runs.createInstance({
          id: randomUUID(),
          workspaceId,
          workflowId,
          version: 1,
          input: {},
          idempotency: { source: 'webhook', key: 'order-7' },
          firstStep: { stepRunId: randomUUID(), stepId: 'start', stepType: 'trigger.webhook' },
        });
        expect(again.created).toBe(false);
        expect(again.instance).toMatchObject({ idempotencySource: 'webhook', idempotencyKey: 'order-7' });
      } finally {
        await database.close();
      }
    } finally {
      await sql.end({ timeout: 5 });
      await fresh.drop();
      rmSync(before, { recursive: true, force: true });
    }
  });
});

/** An empty database: a new one on real Postgres, or an embedded one in a directory of its own. */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const isolated = await isolatedDatabase();
  if (isolated.env.DATABASE_URL) return { url: isolated.env.DATABASE_URL, drop: () => isolated.drop() };
  const dir = mkdtempSync(join(tmpdir(), 'wfb-old-keys-'));
  const embedded = await startEmbeddedPostgres(dir);
  return {
    url: embedded.url,
    async drop() {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
