import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openDatabase } from '../../src/persistence/database.js';
import { waitFor } from '../support/fake-http-server.js';
import { isolatedDatabase } from '../integration/webhooks/isolated-database.js';
import { buildServer, startServerProcess } from '../support/server-process.js';
import { GraphQLClient, schedulerTable, startTestServer } from '../support/test-server.js';
import { instanceTotal, messageWorkflow, metaInstagramDelivery, postMeta, providerEnv } from './support/inbound-clients.js';

let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let dataDir: string | undefined;

beforeAll(async () => {
  database = await isolatedDatabase();
  if (!database.env.DATABASE_URL) dataDir = mkdtempSync(join(tmpdir(), 'wfb-meta-durable-'));
  buildServer();
});
afterAll(async () => {
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const dbEnv = (): Record<string, string> => ({
  ...(database.env.DATABASE_URL ? database.env : { DATA_DIR: dataDir! }),
  SCHEDULER_TABLE: schedulerTable,
});

/** Instances of the workflow, read from the database itself while no server runs. */
async function storedInstances(workflowId: string): Promise<number> {
  const db = await openDatabase({ url: database.env.DATABASE_URL, dataDir: dataDir ?? '', poolSize: 1 });
  try {
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from workflow_instances where workflow_id = ${workflowId}`;
    return row!.n;
  } finally {
    await db.close();
  }
}

test('a server killed right after acknowledging a Meta delivery: after a restart every message starts its workflow, once', { timeout: 180_000 }, async () => {
  const setup = await startTestServer({ env: dbEnv(), dataDir });
  const workflowId = await messageWorkflow(setup.client, 'IG durable', { channel: 'instagram', keyword: 'durable' });
  const apiKey = setup.apiKey;
  await setup.stop({ keepData: true });

  const count = 300;
  const body = metaInstagramDelivery(
    Array.from({ length: count }, (_, i) => ({ mid: `mid.${randomBytes(12).toString('hex')}`, text: `durable ${i}` })),
  );
  // A short lease: the killed process's claim on the delivery runs out soon after the restart.
  const env = { ...dbEnv(), ...providerEnv, INBOUND_LEASE_MS: '2000' };
  const first = await startServerProcess(env);
  const res = await postMeta(new URL(first.url).origin, body);
  await first.kill('SIGKILL');
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ duplicate: false, messages: count });

  // The kill cut processing short: otherwise this test would show nothing.
  expect(await storedInstances(workflowId)).toBeLessThan(count);

  const second = await startServerProcess(env);
  try {
    const client = new GraphQLClient(second.url, apiKey);
    await waitFor(() => instanceTotal(client, workflowId), (n) => n >= count, {
      what: 'every message to start its workflow after the restart',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    expect(await instanceTotal(client, workflowId)).toBe(count);
  } finally {
    if (process.env.DEBUG_LOGS) console.log(second.logs.join('\n'));
    await second.kill('SIGTERM');
  }
});
