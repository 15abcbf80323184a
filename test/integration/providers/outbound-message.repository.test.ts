import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../../src/persistence/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../src/persistence/embedded-postgres.js';
import { OutboundMessageRepository } from '../../../src/persistence/outbound-message.repository.js';
import * as appSchema from '../../../src/persistence/schema.js';
import { outboundMessages } from '../../../src/persistence/tables/outbound-message.table.js';
import { SandboxMessagingProvider } from '../../../src/providers/sandbox-messaging.provider.js';
import { newOutboundMessage } from '../../contract/stores/outbound-message.contract.js';

/**
 * Runs on TEST_DATABASE_URL / DATABASE_URL when set, else on an embedded PGlite. The table's
 * migration does not exist yet, so the test creates it in a schema of its own from the drizzle
 * definition (through drizzle-kit, the generator of the real migration) and drops the schema after.
 */
const databaseUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;
const schemaName = `outbound_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

let embedded: EmbeddedPostgres | undefined;
let dataDir: string | undefined;
let admin: Sql;
let sql: Sql;
let store: OutboundMessageRepository;

beforeAll(async () => {
  let url = databaseUrl;
  if (url === undefined) {
    dataDir = mkdtempSync(join(tmpdir(), 'wfb-outbound-'));
    embedded = await startEmbeddedPostgres(dataDir);
    url = embedded.url;
  }
  const prepare = embedded === undefined;
  admin = postgres(url, { max: 1, prepare, onnotice: () => {} });
  await admin.unsafe(`create schema "${schemaName}"`);
  // PGlite serves every connection from its one session and ignores startup parameters: set it there.
  if (embedded !== undefined) await admin.unsafe(`set search_path to "${schemaName}"`);
  sql = postgres(url, { max: 4, prepare, onnotice: () => {}, connection: { search_path: schemaName } });
  const empty = generateDrizzleJson({});
  for (const statement of await generateMigration(empty, generateDrizzleJson({ outboundMessages }, empty.id))) {
    await sql.unsafe(statement);
  }
  const db: Db = drizzle(sql, { schema: appSchema });
  store = new OutboundMessageRepository(db);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await admin?.unsafe(`drop schema if exists "${schemaName}" cascade`);
  await admin?.end({ timeout: 5 });
  await embedded?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// The port's contract runs in test/contract/stores; these are the repository's own details.
describe('OutboundMessageRepository', () => {
  test('the table lives in the test schema, not in the shared one', async () => {
    const rows = await sql<{ schema: string }[]>`
      select table_schema as schema from information_schema.tables where table_name = 'outbound_messages'
        and table_schema = ${schemaName}`;
    expect(rows).toEqual([{ schema: schemaName }]);
  });

  test('timestamps round-trip at millisecond precision, so cursors compare exactly', async () => {
    const message = newOutboundMessage();
    const { record } = await store.record(message);
    const page = await store.listByInstance(message.instanceId, { first: 1 });
    expect(page.items[0]!.node.createdAt.getTime()).toBe(record.createdAt.getTime());
    const rest = await store.listByInstance(message.instanceId, { first: 1, after: page.items[0]!.cursor });
    expect(rest.items).toEqual([]);
  });

  test('a malformed cursor is bad input; a non-UUID instance lists empty', async () => {
    await expect(store.listByInstance(randomUUID(), { first: 1, after: 'nope' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await store.listByInstance('inst-1', { first: 5 })).totalCount).toBe(0);
  });

  test('the sandbox provider records through it once per key', async () => {
    const sandbox = new SandboxMessagingProvider({ store });
    const instanceId = randomUUID();
    const message = {
      channel: 'sms' as const,
      to: '+15550007777',
      text: 'hello',
      instanceId,
      stepId: 'sms',
      idempotencyKey: `${instanceId}:sms`,
    };
    const [first, second] = await Promise.all([sandbox.sendMessage(message), sandbox.sendMessage(message)]);
    expect(second).toEqual(first);
    const page = await store.listByInstance(instanceId, { first: 10 });
    expect(page.totalCount).toBe(1);
    expect(first.providerMessageId).toBe(`sandbox-${page.items[0]!.node.id}`);
  });
});
